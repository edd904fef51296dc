/** A typed word read as the shell will pass it to the program, without running anything. */
import {describe, expect, it} from 'vitest'

import {shellWordValue} from '../../../src/lib/completion/shell-word.js'

const env = {HOME: '/home/u', KUBE: '/etc/kube'}
const value = (word: string) => shellWordValue(word, env)

describe('shellWordValue', () => {
  it('removes quotes and backslashes as the shell does', () => {
    expect(value("'/a b/c'")).toBe('/a b/c')
    expect(value('"/a b/c"')).toBe('/a b/c')
    expect(value('/a\\ b/c')).toBe('/a b/c')
    expect(value("'it'\\''s'")).toBe("it's")
    expect(value('"a\\"b\\c"')).toBe('a"b\\c')
    expect(value("'$HOME'")).toBe('$HOME')
  })

  it('expands a leading ~ and $NAME / ${NAME}, not a ~ elsewhere', () => {
    expect(value('~/k')).toBe('/home/u/k')
    expect(value('~')).toBe('/home/u')
    expect(value('"$HOME/a b"')).toBe('/home/u/a b')
    expect(value('${KUBE}/config')).toBe('/etc/kube/config')
    expect(value('$UNSET/k')).toBe('/k')
    expect(value('--kubeconfig=~/k')).toBe('--kubeconfig=~/k')
    expect(value("'~/k'")).toBe('~/k')
  })

  it('runs nothing: command substitutions stay as typed', () => {
    expect(value('$(touch /tmp/x)')).toBe('$(touch /tmp/x)')
    expect(value('`id`')).toBe('`id`')
  })
})
