/** Client commands (topic, produce, consume): placeholder until the client lands. */
export async function runClientCommand(command: string, _args: string[]): Promise<number> {
  process.stderr.write(`franz: "${command}" is not implemented yet\n`);
  return 2;
}
