/** A yes/no argument of a script, as the Lua compares it (`ARGV[n] == '1'`). */
export const FLAG_ON = '1';
export const FLAG_OFF = '0';

export function flag(on: boolean): string {
  return on ? FLAG_ON : FLAG_OFF;
}
