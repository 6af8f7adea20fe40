// Types for the parts of ssh-mcp's build (plain JavaScript, no declarations) that the tests call,
// so that they check linus' output against ssh-mcp's own code rather than a copy of its rules.
declare module 'ssh-mcp/build/policy/classifier.js' {
  export function classifyCommand(command: string): { binary: string; fullCommand: string; class: 'read-only' | 'safe' | 'destructive' | 'privileged' };
}
declare module 'ssh-mcp/build/guard/redactor.js' {
  export function redactText(text: string, opts?: { entropyScan?: boolean; entropyThreshold?: number }): string;
}
declare module 'ssh-mcp/build/guard/sanitizer.js' {
  export function sanitizeCommand(command: string, maxChars: number): string;
}
declare module 'ssh-mcp/build/config/loader.js' {
  export interface LoadedProfile {
    name: string;
    host: string;
    port: number;
    user: string;
    auth: string;
    keyRef?: string;
    trustedHostKey?: string;
    group?: string;
    role: string;
    approvalPolicy: string;
    maxChars: number;
    timeout: number;
  }
  export function loadConfig(customPath?: string): Promise<{ defaults: Record<string, unknown>; profiles: LoadedProfile[] }>;
}
declare module 'ssh-mcp/build/policy/engine.js' {
  import type { LoadedProfile } from 'ssh-mcp/build/config/loader.js';
  export interface Evaluation {
    decision: 'allow' | 'deny' | 'require-approval';
    commandClass: string;
    reason?: string;
  }
  export function resolvePolicyRules(profiles: LoadedProfile[], override?: unknown): unknown;
  export class PolicyEngine {
    constructor(rules?: unknown);
    evaluate(command: string, profile: LoadedProfile, toolName: string): Evaluation;
  }
}
