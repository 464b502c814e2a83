// PLACEHOLDER until the inventory lands: knows no services, answers no queries.
import type { Db } from './db.js';
import type { InventoryReader, QueryResult, ServiceRecord } from './readers.js';
import { ToolFailure } from '../errors.js';

export class InventoryStore implements InventoryReader {
  constructor(private readonly db: Db) {}
  query(): QueryResult {
    void this.db;
    throw new ToolFailure('unavailable', 'the inventory is not built yet');
  }
  service(): ServiceRecord | undefined {
    return undefined;
  }
  serviceAt(): ServiceRecord | undefined {
    return undefined;
  }
  services(): ServiceRecord[] {
    return [];
  }
}
