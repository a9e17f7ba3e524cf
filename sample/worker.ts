import 'reflect-metadata';
import { runWorker } from '../src';
import { AppModule } from './app.module';

// A worker process: the same app's consumers, no HTTP server. `CHANNELS_LAYER=redis npm run worker`.
void runWorker(AppModule);
