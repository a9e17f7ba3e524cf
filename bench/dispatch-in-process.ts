// The helper process of the in-memory consumer dispatch scenario (see inMemoryDispatchTarget): the
// app with its in-process worker and the load generator, running the rounds the bench asks for.
import { serveParent } from './child-process';
import { openInMemoryDispatch } from './dispatch-targets';
import { serveRounds } from './remote-rounds';

openInMemoryDispatch().then(
  (endpoint) => {
    serveRounds(endpoint);
    serveParent(() => endpoint.close());
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
