/** Hides the password of any connection URL inside a message, so secrets never reach output. */
export function redactSecrets(text: string): string {
  return text.replace(/\b(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}

/** Shows a connection URL without its password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return redactSecrets(url);
  }
}

/**
 * Hides connection passwords in an error a job threw (`connect to postgres://app:pw@…`), in
 * place, so it keeps its class: its message and stack go to the store, the manifest and stderr.
 */
export function redactError<E extends Error>(error: E): E {
  const message = redactSecrets(error.message);
  if (message !== error.message) error.message = message;
  if (error.stack !== undefined) error.stack = redactSecrets(error.stack);
  return error;
}
