import type { ProvisionerFile } from '../provisioners/remote.js';
import { remotePath } from '../provisioners/remote.js';
import { startStep, WAIT_SECONDS, waitStep } from './job-steps.js';
import { CACHED, UploadRoomError, uploadSteps, type UploadSteps } from './upload-steps.js';

export const DEFAULT_MAX_CHARS = 5000;

export type StepKind = 'check' | 'upload' | 'verify' | 'start' | 'wait';

export interface PlanStep {
  step: number;
  kind: StepKind;
  command: string;
  // Run again, unchanged, until the output has a LINUS_RESULT: line.
  repeat: boolean;
  // Skip when the check step (step 1) printed LINUS_CACHED.
  skipIfCached: boolean;
  purpose: string;
}

export interface AgentPlan {
  runId: string;
  maxChars: number;
  waitSeconds: number;
  provisioner: { name: string; version: string; sha256: string; path: string };
  // The steps a cached provisioner skips (inclusive); the check step says so in its output.
  skipWhenCached: { from: number; to: number };
  steps: PlanStep[];
}

export interface PlanInput {
  provisioner: ProvisionerFile;
  remoteDir: string;
  // The provisioner's start options (provisionerArgs), without --run-id.
  args: readonly string[];
  runId: string;
  maxChars: number;
}

export class PlanTooLongError extends Error {}

// The whole provision as single-line commands for an exec-only MCP tool: check the cache, upload
// in parts, verify, start the detached job, wait in bounded slices.
export function buildAgentPlan(input: PlanInput): AgentPlan {
  const { provisioner, remoteDir, runId, maxChars } = input;
  let upload: UploadSteps;
  try {
    upload = uploadSteps(remoteDir, provisioner, runId, maxChars, (parts) => ({ firstPart: 2, verify: parts + 2, next: parts + 3 }));
  } catch (error) {
    if (error instanceof UploadRoomError) throw new PlanTooLongError(`--max-chars ${maxChars} is too small: the upload ${error.message}`);
    throw error;
  }
  const verifyStep = upload.parts.length + 2;
  const uploadRange = `steps 2-${verifyStep}`;
  const version = `${provisioner.name} ${provisioner.version}`;
  const steps: Omit<PlanStep, 'step'>[] = [
    {
      kind: 'check',
      command: upload.check,
      repeat: false,
      skipIfCached: false,
      purpose: `Check whether provisioner ${version} (sha256 ${provisioner.fileSha256.slice(0, 12)}) is already on the host: prints ${CACHED} or LINUS_UPLOAD_NEEDED.`,
    },
    ...upload.parts.map((command, index) => ({
      kind: 'upload' as const,
      command,
      repeat: false,
      skipIfCached: true,
      purpose: `Upload part ${index + 1} of ${upload.parts.length} of the provisioner.`,
    })),
    {
      kind: 'verify',
      command: upload.verify,
      repeat: false,
      skipIfCached: true,
      purpose: 'Join the parts, check the sha256 and move the provisioner into place: prints LINUS_UPLOADED.',
    },
    {
      kind: 'start',
      command: startStep(remoteDir, provisioner, runId, input.args, uploadRange),
      repeat: false,
      skipIfCached: false,
      purpose: `Start the provisioning job ${runId} on the host; it returns at once (LINUS_JOB:RUNNING).`,
    },
    {
      kind: 'wait',
      command: waitStep(remoteDir, provisioner, runId),
      repeat: true,
      skipIfCached: false,
      purpose: `Show the job's progress for up to ${WAIT_SECONDS} s. Run it again, unchanged, until the output has a LINUS_RESULT: line.`,
    },
  ];
  const numbered = steps.map((step, index) => ({ step: index + 1, ...step }));
  const tooLong = numbered.find((step) => step.command.length > maxChars);
  if (tooLong) {
    throw new PlanTooLongError(`--max-chars ${maxChars} is too small: the ${tooLong.kind} step needs ${tooLong.command.length} characters`);
  }
  return {
    runId,
    maxChars,
    waitSeconds: WAIT_SECONDS,
    provisioner: { name: provisioner.name, version: provisioner.version, sha256: provisioner.fileSha256, path: remotePath(remoteDir, provisioner) },
    skipWhenCached: { from: 2, to: verifyStep },
    steps: numbered,
  };
}
