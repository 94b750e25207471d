// The SDK's end-to-end encryption layer. Not re-exported from the SDK's main entry on purpose: ts-mls is ~50 KB gz
// and the web client loads E2EE as a lazy chunk after sign-in (docs/e2ee.md).
export { E2eeError, type E2eeErrorCode } from './errors.ts';
export {
  aikIdOf,
  createAuthenticationService,
  decodeDeviceCert,
  encodeDeviceCert,
  exportAik,
  generateAik,
  importAik,
  signDeviceCert,
  verifyDeviceCert,
  type Aik,
  type CredentialCheck,
  type CredentialValidator,
  type DeviceCert,
  type IdentityLookup,
} from './identity.ts';
export {
  decodeDeviceList,
  encodeDeviceList,
  hashDeviceList,
  signDeviceList,
  verifyDeviceListChain,
  verifyDeviceListSignature,
  type DeviceList,
  type DeviceListEntry,
  type DeviceListHead,
} from './device-list.ts';
export { safetyNumber, type SafetyNumberParty } from './safety-number.ts';
export { formatRecoveryKey, generateRecoveryKey, openAikEscrow, parseRecoveryKey, sealAikEscrow } from './recovery.ts';
export { MAX_PAYLOAD_BYTES } from './padding.ts';
export {
  createMls,
  Mls,
  MlsGroup,
  PARLEY_CIPHERSUITE,
  ROSTER_EXTENSION,
  type CommitBundle,
  type DeviceRef,
  type LocalKeyPackage,
  type MlsMember,
  type ProcessResult,
  type RosterEntry,
} from './mls.ts';
export { E2eeChat, E2eeDevice, type DecryptedMessage, type E2eeProblem } from './engine.ts';
export { Directory, type DirectoryProblem, type DirectoryState, type IdentityChange, type Refusal } from './directory.ts';
export { MemoryE2eeStore, type E2eeStore } from './store.ts';
export { fromBase64, toBase64 } from './base64.ts';
export { PendingLink, SasSession } from './link-session.ts';
export { decodeLinkPayload, encodeLinkPayload, sasCode, type LinkPayload, type LinkTarget } from './link.ts';
