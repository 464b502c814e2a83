// What a call acts on, as every layer speaks of it: the inventory's facts about a target.

/** What the inventory knows of a target; empty when it knows nothing. */
export interface TargetInfo {
  service?: string;
  tier?: string;
  owner?: string;
  labels?: Record<string, string>;
}
