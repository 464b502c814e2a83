// The states of a configuration change (store/changes.ts), apart from the store so that `warden
// changes --help` can offer them as choices without loading the store.
export const CHANGE_STATUSES = ['applying', 'verifying', 'verified', 'rejected', 'rolling_back', 'rolled_back', 'rollback_failed'] as const;
export type ChangeStatus = (typeof CHANGE_STATUSES)[number];
