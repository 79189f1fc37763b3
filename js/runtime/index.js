// The Durable Object runtime's JavaScript half: DurableObjectState (`ctx`/`state`), its storage
// API over the host's synchronous SQLite natives, and the classes of `cloudflare:workers`.
// Bundled separately from the Web API prelude and run after it in every context.
import './prelude_hooks.js';
import { createState } from './state.js';
import { bindResponseWebSocket, deliverWebSocketEvent } from './web_sockets.js';
import { deliverAlarm, deliverFetch, deliverRpc } from './deliver.js';
import { responseStreamSignal } from './response_streams.js';
import { requestBodySignal, stubBodySignal, stubBodyStream } from './stub_bodies.js';
import { createEntrypoint, createNamespace, createService } from './namespace.js';
import { workerHostClass } from './worker_host.js';
import {
  defineDurableObject, DurableObjectNotFoundError, DurableObjectRPCError, cloudwerkBindings,
} from './cloudwerk.js';
import { DurableObject, WorkerEntrypoint, RpcTarget, WorkflowEntrypoint } from './base_classes.js';
import { nodeModule } from './node/modules.js';

const exports = {
  createState,
  deliverFetch,
  deliverAlarm,
  deliverRpc,
  createNamespace,
  createService,
  createEntrypoint,
  workerHostClass,
  cloudwerkBindings,
  cloudwerk: { defineDurableObject, DurableObjectNotFoundError, DurableObjectRPCError },
  deliverWebSocketEvent,
  bindResponseWebSocket,
  responseStreamSignal,
  stubBodySignal,
  stubBodyStream,
  requestBodySignal,
  DurableObject,
  WorkerEntrypoint,
  RpcTarget,
  WorkflowEntrypoint,
  nodeModule,
  env: {},
};
// A plain property (not a `var`) so that the host can delete it after reading it.
globalThis.__dormRuntime = exports;
export default exports;
