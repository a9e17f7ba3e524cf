export * from './get-next-message';
export * from './captive-layers';
export * from './client';
