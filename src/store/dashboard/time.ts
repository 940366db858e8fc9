/** A time as the dashboard sends it: an ISO string, or null. */
export function isoTime(value: Date | null | undefined): string | null {
  return value ? value.toISOString() : null;
}
