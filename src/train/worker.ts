/**
 * A training worker thread: builds one Replica over the shared buffers it is given and answers
 * the main thread's requests (see parallel.ts), one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runRequest, type ReplicaSetup, type WorkerRequest } from './parallel.js';
import { Replica } from './replica.js';

const setup = workerData as ReplicaSetup;
const replica = new Replica(setup.spec, setup.preprocessing, setup.params, setup.grads, new Map(setup.fixed));

parentPort!.on('message', (request: WorkerRequest) => {
  parentPort!.postMessage(runRequest(replica, setup, request));
});
