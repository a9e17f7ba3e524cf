export * from './get-next-message';
