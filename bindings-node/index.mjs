// ESM entry point of crm-agent: the same module as index.cjs (one copy of the native addon).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const crmAgent = require('./index.cjs');

export const {
  Agent,
  sseEncode,
  compatEncode,
  compatStatus,
  hostStoreMethods,
  runStoreConformance,
  storeConformanceCases,
  CrmAgentError,
  NotFoundError,
  UnauthenticatedError,
  PermissionDeniedError,
  InvalidArgumentError,
  ConflictError,
  UnsupportedError,
  UnavailableError,
  StoreError,
  ModelError,
  HostError,
  InternalError,
} = crmAgent;

export default crmAgent;
