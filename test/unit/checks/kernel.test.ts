import {readFileSync} from 'node:fs'
import {release, version} from 'node:os'

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {
  architectureVerdict,
  compareVersions,
  distroFromString,
  kernelVerdict,
  parseVersion,
} from '../../../src/lib/checks/kernel.js'

type Row = {
  label: string
  procVersion?: string
  unameRv?: string
  osImage?: string
  release: string | undefined
  distro: 'ubuntu' | 'rhel' | 'default'
  status: 'pass' | 'warn' | 'fail'
  felix: boolean
}

// /proc/version strings as the distributions' kernels print them (compiler string included: that is where Felix
// finds "Red Hat" on RHEL-family and Amazon Linux kernels, and "ubuntu" on Ubuntu toolchains).
const PROC: Row[] = [
  {label: 'Ubuntu 22.04 generic', procVersion: 'Linux version 5.15.0-91-generic (buildd@lcy02-amd64-045) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023', release: '5.15.0-91', distro: 'ubuntu', status: 'pass', felix: true},
  {label: 'Ubuntu 24.04 generic', procVersion: 'Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) (x86_64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0, GNU ld (GNU Binutils for Ubuntu) 2.42) #45-Ubuntu SMP PREEMPT_DYNAMIC Fri Aug 30 12:02:04 UTC 2024', release: '6.8.0-45', distro: 'ubuntu', status: 'pass', felix: true},
  {label: 'Ubuntu 20.04 generic 5.4', procVersion: 'Linux version 5.4.0-169-generic (buildd@lcy02-amd64-102) (gcc version 9.4.0 (Ubuntu 9.4.0-1ubuntu1~20.04.2)) #187-Ubuntu SMP Thu Nov 23 14:52:28 UTC 2023', release: '5.4.0-169', distro: 'ubuntu', status: 'warn', felix: true},
  {label: 'Ubuntu 18.04 generic 4.15', procVersion: 'Linux version 4.15.0-213-generic (buildd@lcy02-amd64-079) (gcc version 7.5.0 (Ubuntu 7.5.0-3ubuntu1~18.04)) #224-Ubuntu SMP Mon Jun 19 13:30:12 UTC 2023', release: '4.15.0-213', distro: 'ubuntu', status: 'fail', felix: false},
  {label: 'Ubuntu 19.10 5.3 (Felix floor)', procVersion: 'Linux version 5.3.0-18-generic (buildd@lcy01-amd64-027) (gcc version 9.2.1 20191008 (Ubuntu 9.2.1-9ubuntu2)) #19-Ubuntu SMP Tue Oct 8 20:14:06 UTC 2019', release: '5.3.0-18', distro: 'ubuntu', status: 'warn', felix: true},
  {label: 'Ubuntu aws 5.15', procVersion: 'Linux version 5.15.0-1019-aws (buildd@lcy02-amd64-046) (gcc (Ubuntu 11.2.0-19ubuntu1) 11.2.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #23-Ubuntu SMP Wed Aug 17 18:33:13 UTC 2022', release: '5.15.0-1019', distro: 'ubuntu', status: 'pass', felix: true},
  {label: 'Ubuntu aws arm64 6.8', procVersion: 'Linux version 6.8.0-1015-aws (buildd@bos02-arm64-045) (aarch64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0, GNU ld (GNU Binutils for Ubuntu) 2.42) #16-Ubuntu SMP Mon Aug 19 20:03:18 UTC 2024', release: '6.8.0-1015', distro: 'ubuntu', status: 'pass', felix: true},
  {label: 'Ubuntu azure 5.15', procVersion: 'Linux version 5.15.0-1052-azure (buildd@lcy02-amd64-023) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #60-Ubuntu SMP Mon Nov 6 10:58:39 UTC 2023', release: '5.15.0-1052', distro: 'ubuntu', status: 'pass', felix: true},
  {label: 'Ubuntu azure 5.4 (18.04 HWE)', procVersion: 'Linux version 5.4.0-1109-azure (buildd@lcy02-amd64-061) (gcc version 7.5.0 (Ubuntu 7.5.0-3ubuntu1~18.04)) #115~18.04.1-Ubuntu SMP Mon May 22 20:06:37 UTC 2023', release: '5.4.0-1109', distro: 'ubuntu', status: 'warn', felix: true},
  {label: 'Ubuntu gke 5.15', procVersion: 'Linux version 5.15.0-1048-gke (buildd@lcy02-amd64-112) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #53-Ubuntu SMP Tue Nov 28 00:43:35 UTC 2023', release: '5.15.0-1048', distro: 'ubuntu', status: 'pass', felix: true},
  {label: 'Ubuntu gcp 6.5', procVersion: 'Linux version 6.5.0-1020-gcp (buildd@lcy02-amd64-065) (x86_64-linux-gnu-gcc-12 (Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #20~22.04.1-Ubuntu SMP Fri May  3 19:05:24 UTC 2024', release: '6.5.0-1020', distro: 'ubuntu', status: 'pass', felix: true},
  {label: 'Ubuntu raspi arm64', procVersion: 'Linux version 5.15.0-1034-raspi (buildd@bos02-arm64-019) (gcc (Ubuntu 11.3.0-1ubuntu1~22.04) 11.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #37-Ubuntu SMP PREEMPT Mon Jul 17 08:26:44 UTC 2023', release: '5.15.0-1034', distro: 'ubuntu', status: 'pass', felix: true},
  {label: 'Ubuntu mainline 5.10', procVersion: 'Linux version 5.10.0-051000-generic (kernel@kathleen) (gcc (Ubuntu 10.2.0-13ubuntu1) 10.2.0, GNU ld (GNU Binutils for Ubuntu) 2.35.1) #202012132330 SMP Sun Dec 13 23:33:36 UTC 2020', release: '5.10.0-051000', distro: 'ubuntu', status: 'pass', felix: true},
  {label: 'RHEL 8.1', procVersion: 'Linux version 4.18.0-147.el8.x86_64 (mockbuild@x86-vm-09.build.eng.bos.redhat.com) (gcc version 8.3.1 20190507 (Red Hat 8.3.1-4) (GCC)) #1 SMP Thu Sep 26 15:52:44 UTC 2019', release: '4.18.0-147', distro: 'rhel', status: 'fail', felix: false},
  {label: 'RHEL 8.2 (Felix floor)', procVersion: 'Linux version 4.18.0-193.el8.x86_64 (mockbuild@x86-vm-08.build.eng.bos.redhat.com) (gcc version 8.3.1 20191121 (Red Hat 8.3.1-5) (GCC)) #1 SMP Fri Mar 27 14:35:58 UTC 2020', release: '4.18.0-193', distro: 'rhel', status: 'warn', felix: true},
  {label: 'RHEL 8.4 (documented floor)', procVersion: 'Linux version 4.18.0-305.el8.x86_64 (mockbuild@x86-vm-07.build.eng.bos.redhat.com) (gcc version 8.4.1 20200928 (Red Hat 8.4.1-1) (GCC)) #1 SMP Thu Apr 29 08:54:30 EDT 2021', release: '4.18.0-305', distro: 'rhel', status: 'pass', felix: true},
  {label: 'RHEL 8.9 el8_9', procVersion: 'Linux version 4.18.0-513.5.1.el8_9.x86_64 (mockbuild@x86-vm-08.build.eng.bos.redhat.com) (gcc version 8.5.0 20210514 (Red Hat 8.5.0-20) (GCC)) #1 SMP Fri Sep 29 05:21:10 EDT 2023', release: '4.18.0-513', distro: 'rhel', status: 'pass', felix: true},
  {label: 'RHEL 9.4 el9_4', procVersion: 'Linux version 5.14.0-427.13.1.el9_4.x86_64 (mockbuild@x86-64-02.build.eng.rdu2.redhat.com) (gcc (GCC) 11.4.1 20231218 (Red Hat 11.4.1-3), GNU ld version 2.35.2-43.el9) #1 SMP PREEMPT_DYNAMIC Wed Apr 10 10:29:16 EDT 2024', release: '5.14.0-427', distro: 'rhel', status: 'pass', felix: true},
  {label: 'Rocky 8.9', procVersion: 'Linux version 4.18.0-513.24.1.el8_9.x86_64 (mockbuild@iad1-prod-build001.bld.equ.rockylinux.org) (gcc version 8.5.0 20210514 (Red Hat 8.5.0-20) (GCC)) #1 SMP Thu Apr 4 18:13:02 UTC 2024', release: '4.18.0-513', distro: 'rhel', status: 'pass', felix: true},
  {label: 'Rocky 9.3 aarch64', procVersion: 'Linux version 5.14.0-362.8.1.el9_3.aarch64 (mockbuild@pb-2f9a5f5d-2b49-4f5a-8b26-5e2d1b0b6a9c-b-aarch64) (gcc (GCC) 11.4.1 20230605 (Red Hat 11.4.1-2), GNU ld version 2.35.2-42.el9) #1 SMP PREEMPT_DYNAMIC Wed Nov 8 17:36:32 UTC 2023', release: '5.14.0-362', distro: 'rhel', status: 'pass', felix: true},
  {label: 'AlmaLinux 8.8', procVersion: 'Linux version 4.18.0-477.10.1.el8_8.x86_64 (mockbuild@x64-builder02.almalinux.org) (gcc version 8.5.0 20210514 (Red Hat 8.5.0-18) (GCC)) #1 SMP Tue May 16 06:12:41 EDT 2023', release: '4.18.0-477', distro: 'rhel', status: 'pass', felix: true},
  {label: 'AlmaLinux 9.2', procVersion: 'Linux version 5.14.0-284.11.1.el9_2.x86_64 (mockbuild@x64-builder02.almalinux.org) (gcc (GCC) 11.3.1 20221121 (Red Hat 11.3.1-4), GNU ld version 2.35.2-37.el9) #1 SMP PREEMPT_DYNAMIC Tue May 9 05:49:00 EDT 2023', release: '5.14.0-284', distro: 'rhel', status: 'pass', felix: true},
  {label: 'CentOS 7 3.10', procVersion: 'Linux version 3.10.0-1160.el7.x86_64 (mockbuild@kbuilder.bsys.centos.org) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) #1 SMP Mon Oct 19 16:18:59 UTC 2020', release: '3.10.0-1160', distro: 'rhel', status: 'fail', felix: false},
  {label: 'Fedora 39', procVersion: 'Linux version 6.6.9-200.fc39.x86_64 (mockbuild@bkernel01.iad2.fedoraproject.org) (gcc (GCC) 13.2.1 20231205 (Red Hat 13.2.1-6), GNU ld version 2.40-14.fc39) #1 SMP PREEMPT_DYNAMIC Mon Jan  1 22:37:35 UTC 2024', release: '6.6.9-200', distro: 'rhel', status: 'pass', felix: true},
  {label: 'Amazon Linux 2 4.14', procVersion: 'Linux version 4.14.336-257.562.amzn2.x86_64 (mockbuild@ip-10-0-33-207) (gcc version 7.3.1 20180712 (Red Hat 7.3.1-17) (GCC)) #1 SMP Sat Feb 24 09:50:35 UTC 2024', release: '4.14.336-257', distro: 'rhel', status: 'fail', felix: false},
  {label: 'Amazon Linux 2 5.10', procVersion: 'Linux version 5.10.205-195.807.amzn2.x86_64 (mockbuild@ip-10-0-53-63) (gcc10-gcc (GCC) 10.5.0 20230707 (Red Hat 10.5.0-1), GNU ld version 2.35.2-9.amzn2.0.1) #1 SMP Tue Jan 16 18:28:59 UTC 2024', release: '5.10.205-195', distro: 'rhel', status: 'pass', felix: true},
  {label: 'Amazon Linux 2023 6.1', procVersion: 'Linux version 6.1.72-96.166.amzn2023.x86_64 (mockbuild@ip-10-0-36-61) (gcc (GCC) 11.4.1 20230605 (Red Hat 11.4.1-2), GNU ld version 2.39-6.amzn2023.0.10) #1 SMP PREEMPT_DYNAMIC Wed Jan 10 22:58:38 UTC 2024', release: '6.1.72-96', distro: 'rhel', status: 'pass', felix: true},
  {label: 'Amazon Linux 2023 arm64', procVersion: 'Linux version 6.1.79-99.164.amzn2023.aarch64 (mockbuild@ip-10-0-40-171) (gcc (GCC) 11.4.1 20230605 (Red Hat 11.4.1-2), GNU ld version 2.39-6.amzn2023.0.10) #1 SMP Fri Mar  1 17:55:08 UTC 2024', release: '6.1.79-99', distro: 'rhel', status: 'pass', felix: true},
  {label: 'Bottlerocket 5.15 arm64', procVersion: 'Linux version 5.15.148 (builder@buildkitsandbox) (aarch64-bottlerocket-linux-gnu-gcc (Buildroot 2022.11.1) 11.3.0, GNU ld (GNU Binutils) 2.38) #1 SMP Fri Feb 23 02:47:29 UTC 2024', release: '5.15.148', distro: 'default', status: 'pass', felix: true},
  {label: 'Bottlerocket 6.1', procVersion: 'Linux version 6.1.82 (builder@buildkitsandbox) (x86_64-bottlerocket-linux-gnu-gcc (Buildroot 2022.11.1) 11.3.0, GNU ld (GNU Binutils) 2.38) #1 SMP PREEMPT_DYNAMIC Tue Apr  2 18:25:55 UTC 2024', release: '6.1.82', distro: 'default', status: 'pass', felix: true},
  {label: 'COS 6.1', procVersion: 'Linux version 6.1.58+ (builder@localhost) (Chromium OS 17.0_pre498229-r33 clang version 17.0.0 (/var/cache/chromeos-cache/distfiles/egit-src/external/github.com/llvm/llvm-project 14f0776550b5a49e1c42f49a00213f7f3fa047bf), LLD 17.0.0) #1 SMP PREEMPT_DYNAMIC Sat Nov 11 14:25:33 UTC 2023', release: '6.1.58', distro: 'default', status: 'pass', felix: true},
  {label: 'COS 5.10', procVersion: 'Linux version 5.10.201+ (builder@localhost) (Chromium OS 12.0_pre408248_p20201125-r15 clang version 12.0.0, LLD 12.0.0) #1 SMP Thu Dec 14 16:12:47 UTC 2023', release: '5.10.201', distro: 'default', status: 'pass', felix: true},
  {label: 'Flatcar', procVersion: 'Linux version 6.1.73-flatcar (build@pony-truck.infra.kinvolk.io) (x86_64-cros-linux-gnu-gcc (Gentoo Hardened 12.3.1_p20230526 p2) 12.3.1 20230526, GNU ld (Gentoo 2.40 p5) 2.40.0) #1 SMP PREEMPT_DYNAMIC Mon Jan 15 22:38:36 -00 2024', release: '6.1.73', distro: 'default', status: 'pass', felix: true},
  {label: 'Talos', procVersion: 'Linux version 6.6.33-talos (@buildkitsandbox) (gcc (GCC) 13.2.0, GNU ld (GNU Binutils) 2.42) #1 SMP Wed Jun 12 15:12:14 UTC 2024', release: '6.6.33', distro: 'default', status: 'pass', felix: true},
  {label: 'Debian 12', procVersion: 'Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)', release: '6.1.0-18', distro: 'default', status: 'pass', felix: true},
  {label: 'Debian 11 arm64 5.10', procVersion: 'Linux version 5.10.0-28-arm64 (debian-kernel@lists.debian.org) (gcc-10 (Debian 10.2.1-6) 10.2.1 20210110, GNU ld (GNU Binutils for Debian) 2.35.2) #1 SMP Debian 5.10.209-2 (2024-01-31)', release: '5.10.0-28', distro: 'default', status: 'pass', felix: true},
  {label: 'Debian 10 4.19', procVersion: 'Linux version 4.19.0-26-amd64 (debian-kernel@lists.debian.org) (gcc version 8.3.0 (Debian 8.3.0-6)) #1 SMP Debian 4.19.304-1 (2024-01-09)', release: '4.19.0-26', distro: 'default', status: 'fail', felix: false},
  {label: 'SLES 15 SP5', procVersion: 'Linux version 5.14.21-150500.55.39-default (geeko@buildhost) (gcc (SUSE Linux) 7.5.0, GNU ld (GNU Binutils; SUSE Linux Enterprise 15) 2.41.0.20230908-150100.7.46) #1 SMP PREEMPT_DYNAMIC Tue Dec 5 10:20:21 UTC 2023 (6d8e4b7)', release: '5.14.21-150500', distro: 'default', status: 'pass', felix: true},
  {label: 'SLES 12 SP5 4.12', procVersion: 'Linux version 4.12.14-122.37-default (geeko@buildhost) (gcc version 4.8.5 (SUSE Linux) ) #1 SMP Wed Sep 2 18:31:58 UTC 2020 (c4e6f22)', release: '4.12.14-122', distro: 'default', status: 'fail', felix: false},
  {label: 'Raspberry Pi OS (Ubuntu/Linaro toolchain)', procVersion: 'Linux version 6.1.21-v8+ (dom@buildbot) (aarch64-linux-gnu-gcc-8 (Ubuntu/Linaro 8.4.0-3ubuntu1) 8.4.0, GNU ld (GNU Binutils for Ubuntu) 2.34) #1642 SMP PREEMPT Mon Apr  3 17:24:16 BST 2023', release: '6.1.21', distro: 'ubuntu', status: 'pass', felix: true},
  {label: 'openSUSE Tumbleweed', procVersion: 'Linux version 6.7.4-1-default (geeko@buildhost) (gcc (SUSE Linux) 13.2.1 20240206 [revision 67ac78caf31f7cb3202177e6428a46d829b70f23], GNU ld (GNU Binutils; openSUSE Tumbleweed) 2.41.0.20240201-2) #1 SMP PREEMPT_DYNAMIC Tue Feb  6 06:55:20 UTC 2024 (29ea9b3)', release: '6.7.4-1', distro: 'default', status: 'pass', felix: true},
]

// Only `uname -r` (Node status.nodeInfo.kernelVersion) or `uname -rv`, with the OS image as the hint: inferred.
const UNAME: Row[] = [
  {label: 'RHEL 8.2 uname -rv, no hint: Felix rule on uname alone says default', unameRv: '4.18.0-193.el8.x86_64 #1 SMP Fri Mar 27 14:35:58 UTC 2020', release: '4.18.0-193', distro: 'default', status: 'fail', felix: false},
  {label: 'RHEL 8.2 + osImage', unameRv: '4.18.0-193.el8.x86_64', osImage: 'Red Hat Enterprise Linux 8.2 (Ootpa)', release: '4.18.0-193', distro: 'rhel', status: 'warn', felix: true},
  {label: 'RHEL 8.4 + osImage', unameRv: '4.18.0-305.el8.x86_64', osImage: 'Red Hat Enterprise Linux 8.4 (Ootpa)', release: '4.18.0-305', distro: 'rhel', status: 'pass', felix: true},
  {label: 'RHEL 8.6 el8_6 (the rule matches uname itself)', unameRv: '4.18.0-372.32.1.el8_6.x86_64', release: '4.18.0-372', distro: 'rhel', status: 'pass', felix: true},
  {label: 'Rocky 8.9 + osImage', unameRv: '4.18.0-513.24.1.el8_9.x86_64', osImage: 'Rocky Linux 8.9 (Green Obsidian)', release: '4.18.0-513', distro: 'rhel', status: 'pass', felix: true},
  {label: 'Rocky 8 el8 (no _N) + osImage', unameRv: '4.18.0-305.3.1.el8.x86_64', osImage: 'Rocky Linux 8', release: '4.18.0-305', distro: 'rhel', status: 'pass', felix: true},
  {label: 'AlmaLinux 9 + osImage', unameRv: '5.14.0-362.8.1.el9_3.x86_64', osImage: 'AlmaLinux 9.3 (Shamrock Pampas Cat)', release: '5.14.0-362', distro: 'rhel', status: 'pass', felix: true},
  {label: 'AlmaLinux 9 el9 (no _N) + osImage', unameRv: '5.14.0-70.13.1.el9.x86_64', osImage: 'AlmaLinux 9', release: '5.14.0-70', distro: 'rhel', status: 'pass', felix: true},
  {label: 'CentOS 7 + osImage', unameRv: '3.10.0-1160.el7.x86_64', osImage: 'CentOS Linux 7 (Core)', release: '3.10.0-1160', distro: 'rhel', status: 'fail', felix: false},
  {label: 'EKS Amazon Linux 2 4.14', unameRv: '4.14.336-257.562.amzn2.x86_64', osImage: 'Amazon Linux 2', release: '4.14.336-257', distro: 'rhel', status: 'fail', felix: false},
  {label: 'EKS Amazon Linux 2 5.10', unameRv: '5.10.205-195.807.amzn2.x86_64', osImage: 'Amazon Linux 2', release: '5.10.205-195', distro: 'rhel', status: 'pass', felix: true},
  {label: 'EKS Amazon Linux 2023', unameRv: '6.1.72-96.166.amzn2023.x86_64', osImage: 'Amazon Linux 2023.3.20240122', release: '6.1.72-96', distro: 'rhel', status: 'pass', felix: true},
  {label: 'EKS Bottlerocket', unameRv: '5.15.148', osImage: 'Bottlerocket OS 1.19.2 (aws-k8s-1.29)', release: '5.15.148', distro: 'default', status: 'pass', felix: true},
  {label: 'AKS Ubuntu azure', unameRv: '5.15.0-1052-azure', osImage: 'Ubuntu 22.04.3 LTS', release: '5.15.0-1052', distro: 'ubuntu', status: 'pass', felix: true},
  {label: 'GKE COS', unameRv: '6.1.58+', osImage: 'Container-Optimized OS from Google', release: '6.1.58', distro: 'default', status: 'pass', felix: true},
  {label: 'Talos', unameRv: '6.6.33-talos', osImage: 'Talos (v1.7.5)', release: '6.6.33', distro: 'default', status: 'pass', felix: true},
  {label: 'Flatcar', unameRv: '6.1.73-flatcar', osImage: 'Flatcar Container Linux by Kinvolk 3760.2.0 (Oklo)', release: '6.1.73', distro: 'default', status: 'pass', felix: true},
  {label: 'Ubuntu 18.04 uname -rv', unameRv: '4.15.0-213-generic #224-Ubuntu SMP Mon Jun 19 13:30:12 UTC 2023', release: '4.15.0-213', distro: 'ubuntu', status: 'fail', felix: false},
  {label: 'Debian 11 arm64', unameRv: '5.10.0-28-arm64', osImage: 'Debian GNU/Linux 11 (bullseye)', release: '5.10.0-28', distro: 'default', status: 'pass', felix: true},
]

describe('kernelVerdict: Felix rule on real /proc/version strings', () => {
  it('has at least 40 real kernel strings in the tables', () => {
    expect(PROC.length + UNAME.length).toBeGreaterThanOrEqual(40)
  })
  it.each(PROC)('$label', (row) => {
    const v = kernelVerdict({procVersion: row.procVersion})
    expect({release: v.release, distro: v.distro, status: v.status, felix: v.felixSupported, inferred: v.inferred}).toEqual({
      release: row.release,
      distro: row.distro,
      status: row.status,
      felix: row.felix,
      inferred: false,
    })
  })
  it('ignores the OS image hint when /proc/version is there (Felix reads only /proc/version)', () => {
    const v = kernelVerdict({
      procVersion: 'Linux version 4.18.0-193.el8.x86_64 (mockbuild@host) (gcc version 8.3.1 (GCC)) #1 SMP',
      osImage: 'Red Hat Enterprise Linux 8.2 (Ootpa)',
    })
    expect(v.distro).toBe('default')
    expect(v.status).toBe('fail')
  })
})

describe('kernelVerdict: inferred from uname -r and the OS image', () => {
  it.each(UNAME)('$label', (row) => {
    const v = kernelVerdict({unameRv: row.unameRv, osImage: row.osImage})
    expect({release: v.release, distro: v.distro, status: v.status, felix: v.felixSupported, inferred: v.inferred}).toEqual({
      release: row.release,
      distro: row.distro,
      status: row.status,
      felix: row.felix,
      inferred: true,
    })
    expect(v.message).toContain('inferred')
  })
  it('says the distro came from the OS image', () => {
    const v = kernelVerdict({unameRv: '4.18.0-305.el8.x86_64', osImage: 'Rocky Linux 8'})
    expect(v.distroSource).toBe('os-image')
    expect(v.message).toContain('OS image')
  })
})

describe('kernelVerdict: this machine', () => {
  it('judges the real /proc/version and uname -rv', () => {
    const procVersion = readFileSync('/proc/version', 'utf8').trim()
    const exact = kernelVerdict({procVersion})
    const inferred = kernelVerdict({unameRv: `${release()} ${version()}`})
    expect(exact.release).toBe(procVersion.match(/Linux version (\d+\.\d+\.\d+(?:-\d+)?)/)?.[1])
    expect(exact.inferred).toBe(false)
    expect(inferred.release).toBe(exact.release)
    expect(['pass', 'warn', 'fail']).toContain(exact.status)
  })
})

describe('kernelVerdict: parse failures and messages', () => {
  it('fails like Felix when the regex does not match (two-part version)', () => {
    const v = kernelVerdict({procVersion: 'Linux version 6.8 (custom@host) (gcc 13) #1 SMP'})
    expect(v.status).toBe('fail')
    expect(v.felixError).toBe('failed to parse kernel version string')
  })
  it('fails with no input at all', () => {
    expect(kernelVerdict({}).status).toBe('fail')
  })
  it("uses Felix's own error text for old kernels and explains the silent fallback", () => {
    const v = kernelVerdict({procVersion: PROC.find((r) => r.label === 'Amazon Linux 2 4.14')!.procVersion})
    expect(v.felixError).toBe('kernel is too old (have: 4.14.336-257 but want at least: 4.18.0-193)')
    expect(v.message).toContain('BPF dataplane mode enabled but not supported by the kernel.  Disabling BPF mode.')
    expect(v.message).toContain('silently fall back to the iptables dataplane')
  })
  it("distroFromString copies Felix's GetDistFromString", () => {
    expect(distroFromString('... el8_5 ...')).toBe('rhel')
    expect(distroFromString('... el8.x86_64 ...')).toBe('default')
    expect(distroFromString('RED HAT')).toBe('rhel')
    expect(distroFromString('UbUnTu and Red Hat')).toBe('ubuntu')
  })
})

describe('parseVersion / compareVersions (Felix NewVersion / Compare)', () => {
  it('splits on [.-] into at most 4 parts', () => {
    expect(parseVersion('5.15.0-1019')).toEqual([5, 15, 0, 1019])
    expect(parseVersion('4.18.0')).toEqual([4, 18, 0])
    expect(parseVersion('1.2.3.4.5')).toBeUndefined() // 4th part "4.5" is not an integer
    expect(parseVersion('1.2.x')).toBeUndefined()
  })
  it('a longer version with an equal prefix is greater', () => {
    expect(compareVersions([4, 18, 0, 193], [4, 18, 0])).toBe(1)
    expect(compareVersions([5, 3, 0, 39], [5, 3, 0])).toBe(1)
    expect(compareVersions([5, 13, 0], [5, 13])).toBe(1)
  })

  const version = fc.array(fc.nat({max: 20}), {minLength: 1, maxLength: 5})
  it('is antisymmetric', () => {
    fc.assert(fc.property(version, version, (a, b) => compareVersions(a, b) === -compareVersions(b, a) || (compareVersions(a, b) === 0 && compareVersions(b, a) === 0)), {numRuns: 1000})
  })
  it('is reflexive', () => {
    fc.assert(fc.property(version, (a) => compareVersions(a, [...a]) === 0))
  })
  it('is transitive', () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        const [x, y, z] = [a, b, c].sort(compareVersions)
        return compareVersions(x!, y!) <= 0 && compareVersions(y!, z!) <= 0 && compareVersions(x!, z!) <= 0
      }),
      {numRuns: 1000},
    )
  })
  it('orders a strict prefix below its extension', () => {
    fc.assert(fc.property(version, fc.array(fc.nat(), {minLength: 1, maxLength: 3}), (a, ext) => compareVersions(a, [...a, ...ext]) === -1))
  })
  it('equals 0 only for identical versions', () => {
    fc.assert(fc.property(version, version, (a, b) => (compareVersions(a, b) === 0) === (JSON.stringify(a) === JSON.stringify(b))))
  })
  it('round-trips X.Y.Z-N through parseVersion', () => {
    fc.assert(
      fc.property(fc.tuple(fc.nat(99), fc.nat(99), fc.nat(99)), fc.option(fc.nat(99999)), ([x, y, z], n) => {
        const s = `${x}.${y}.${z}${n === null ? '' : `-${n}`}`
        return JSON.stringify(parseVersion(s)) === JSON.stringify(n === null ? [x, y, z] : [x, y, z, n])
      }),
    )
  })
  it('agrees with kernelVerdict: at or above the minimum passes Felix', () => {
    fc.assert(
      fc.property(fc.tuple(fc.integer({min: 3, max: 7}), fc.nat(20), fc.nat(300)), ([x, y, z]) => {
        const v = kernelVerdict({procVersion: `Linux version ${x}.${y}.${z} (b@h) (gcc) #1`})
        return v.felixSupported === compareVersions([x, y, z], [5, 3, 0]) >= 0
      }),
    )
  })
})

describe('architectureVerdict', () => {
  it.each([
    ['x86_64', 'pass'],
    ['amd64', 'pass'],
    ['aarch64', 'pass'],
    ['arm64', 'pass'],
    ['ppc64le', 'pass'],
    ['s390x', 'fail'],
    ['ppc64', 'fail'],
    ['weird', 'warn'],
  ])('%s → %s', (arch, status) => {
    expect(architectureVerdict(arch).status).toBe(status)
  })
  it('trusts an explicit byte order', () => {
    expect(architectureVerdict('weird', 'LE').status).toBe('pass')
    expect(architectureVerdict('x86_64', 'BE').status).toBe('fail')
  })
})
