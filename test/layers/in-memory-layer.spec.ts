import { InMemoryChannelLayer } from '../../src';
import { describeLayerContract } from './layer-contract';

describeLayerContract('InMemoryChannelLayer', async (options) => new InMemoryChannelLayer(options));
