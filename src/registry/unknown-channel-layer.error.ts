export class UnknownChannelLayer extends Error {
  constructor(
    readonly alias: string,
    configured: readonly string[],
  ) {
    super(
      `No channel layer is configured under the alias "${alias}" ` +
        `(configured: ${configured.map((a) => `"${a}"`).join(', ') || 'none'}); add it to ChannelsModule.forRoot({ layers })`,
    );
    this.name = 'UnknownChannelLayer';
  }
}
