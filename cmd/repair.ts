// `conclave repair --data-dir DIR [--confirm]`: finds the damage that makes a member refuse to start, says what it
// would do, and does it only with --confirm. See src/storage/repair.ts for what it can and cannot repair.
//
// Exit codes: 0 healthy or repaired; 1 invalid flags; 3 damage found and not repaired (no --confirm);
// 4 damage that cannot be repaired here (the member must be replaced).

import { repairStorage, type RepairReport } from '../src/storage/repair.js';
import { StorageError } from '../src/storage/errors.js';
import type { CliIo } from './cli.js';

export const EXIT_DAMAGE_FOUND = 3;
export const EXIT_UNREPAIRABLE = 4;

export const REPAIR_HELP = `conclave repair --data-dir DIR [--confirm]

Checks the storage of a member that refuses to start and repairs what can be repaired without inventing data:
  - a damaged or missing log tail after the applied index: deleted (the leader sends those entries again);
  - a commit index beyond the log: lowered (the leader tells the member again what is committed);
  - a missing or damaged snapshot file: written anew from the backend.
Damage to entries the member has already applied, or to its metadata, is not repaired: replace the member.
Stop the member first. Without --confirm nothing is changed.

Flags:
  --data-dir DIR   the member's data directory [env: CONCLAVE_DATA_DIR]
  --confirm        carry out the repair
  -h, --help       show this help

Exit codes: 0 healthy or repaired, 1 invalid flags, 3 damage found (run again with --confirm), 4 cannot be repaired.
`;

export async function runRepair(args: readonly string[], io: CliIo): Promise<number> {
  let dataDir: string | undefined = io.env['CONCLAVE_DATA_DIR'];
  let confirm = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--help' || arg === '-h') {
      io.stdout(REPAIR_HELP);
      return 0;
    } else if (arg === '--confirm') {
      confirm = true;
    } else if (arg === '--data-dir' || arg.startsWith('--data-dir=')) {
      const value = arg.includes('=') ? arg.slice('--data-dir='.length) : args[++i];
      if (value === undefined || value === '') return usage(io, '--data-dir needs a directory');
      dataDir = value;
    } else {
      return usage(io, `unknown argument "${arg}"`);
    }
  }
  if (dataDir === undefined || dataDir === '') return usage(io, '--data-dir is required (the data directory of the member to repair)');
  let report: RepairReport;
  try {
    report = await repairStorage(dataDir, { confirm });
  } catch (error) {
    const code = error instanceof StorageError ? error.code : 'error';
    io.stderr(`conclave repair: ${dataDir}: cannot check the storage (${code}): ${(error as Error).message}\n`);
    return EXIT_UNREPAIRABLE;
  }
  io.stdout(formatReport(dataDir, report, confirm));
  if (report.healthy || report.repaired) return 0;
  return report.refusal !== null ? EXIT_UNREPAIRABLE : EXIT_DAMAGE_FOUND;
}

function formatReport(dataDir: string, report: RepairReport, confirm: boolean): string {
  if (report.healthy) return `conclave repair: ${dataDir}: the storage opens cleanly; nothing to repair.\n`;
  const lines = [`conclave repair: ${dataDir}`, `the member refuses to start: ${report.startError}`];
  for (const finding of report.findings) lines.push(`  - ${finding.problem}`, `    ${report.repaired ? 'done' : 'would'}: ${finding.action}`);
  if (report.refusal !== null) lines.push(`cannot repair: ${report.refusal}`, 'Nothing was changed.');
  else if (report.repaired) lines.push('Repaired: the storage now opens cleanly.');
  else if (!confirm) lines.push('Nothing was changed. Run again with --confirm to repair.');
  return lines.join('\n') + '\n';
}

function usage(io: CliIo, message: string): number {
  io.stderr(`conclave repair: ${message}\nRun "conclave repair --help" for the flags.\n`);
  return 1;
}
