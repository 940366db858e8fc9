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
