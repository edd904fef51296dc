export {applyChange, applyRobust, undoChange} from './apply.js'
export {DISRUPTION_WARNING, buildEnablePlan, chooseApiEndpoint} from './enable.js'
export {InterruptedError, PlanError} from './errors.js'
export {fieldChange, getPath, inverseChange, objectLabel, patchBody, patchChange, renderChange} from './fields.js'
export {type Progress, type ProgressSink, createProgress, memoryProgress} from './progress.js'
export {
  type EnableRecord,
  type RecordEntry,
  RECORD_CONFIGMAP,
  RECORD_KEY,
  RecordStore,
  readRecord,
} from './record.js'
export {
  type Permission,
  type PermissionCheck,
  PermissionError,
  checkPermissions,
  formatPermission,
  planPermissions,
  renderPermissions,
} from './permissions.js'
export {bestEffortRevertPlan, buildRevertPlan} from './revert.js'
export {type RunResult, type StepResult, runError, runPlan, runRevert} from './runner.js'
export {renderChangeSummary, renderPlan} from '../output/plan.js'
export {
  type EnableSession,
  type Preflight,
  type PreflightFinding,
  type SessionReport,
  checksPreflight,
  enableSession,
  revertSession,
} from './session.js'
export {DSR_WARNINGS, NON_CALICO_KEY, OPERATOR_KUBE_PROXY_KEY, RESTARTED_AT, StepIds} from './steps.js'
export * from './types.js'
export {LOCK_LEASE} from './lock.js'
export {type VerifyGate, VERIFY_SERVICES_STEP, verifyServicesStep, withVerifyStep} from './verify-step.js'
export {type DryRunMode, planDocument, resultDocument} from './document.js'
export {type ServerDryRunResult, renderServerDryRun, serverDryRun} from './server-dry-run.js'
