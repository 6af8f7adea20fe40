import { LinusError } from '../protocol/errors.js';
import type { CallContext } from './tools.js';

export interface Confirmation {
  // What the user is asked, e.g. "Delete VM 104 'web01' on node pve with its disks?".
  question: string;
  // What a refusal says was not done, e.g. "VM 104 'web01' was not deleted".
  unchanged: string;
  // Without a client that can ask: the confirm field must equal this.
  expected: string;
  given: string | undefined;
}

// A destructive tool goes ahead only when the user says yes through the client (elicitation), or,
// when the client cannot ask, when the call's confirm field names what it destroys. With a client
// that can ask, the field does not stand in for the user.
export async function requireConfirmation(call: CallContext, confirmation: Confirmation): Promise<void> {
  if (call.ask) {
    if (await call.ask(confirmation.question)) return;
    throw new LinusError({ code: 'CONFIRMATION_REQUIRED', message: `the user declined: ${confirmation.unchanged}`, remediation: 'Nothing was changed; ask the user before trying again.' });
  }
  if (confirmation.given === confirmation.expected) return;
  throw new LinusError({
    code: 'CONFIRMATION_REQUIRED',
    message: `${confirmation.given === undefined ? 'no confirm given' : `confirm '${confirmation.given}' is not '${confirmation.expected}'`}: ${confirmation.unchanged}`,
    remediation: `Make sure the user wants this, then call again with confirm: '${confirmation.expected}'.`,
  });
}
