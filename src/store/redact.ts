/**
 * Passwords in connection strings, in any text. Each pattern keeps what precedes the secret and
 * hides the secret itself, so the rest of the string still says which server was meant.
 *
 * A password may hold characters a URL should escape but people type raw (`@`, `/`, `#`, `"`):
 * a secret runs to the LAST `@` before a space, since hiding a little too much is safe and hiding
 * too little is not.
 */
const secretPatterns: readonly RegExp[] = [
  // `postgres://user:password@host`, any scheme, the user possibly empty.
  /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s"'`<>]*:)\S*@/gi,
  // `?password=…`, `&sslpassword=…` in a URL, `password=…` in a key/value connection string
  // (quoted with '…' there) and `PGPASSWORD=…`. It runs to the next `&` or space; a `:` that ends
  // the text or comes before a space is the message's own (`…?password=***: connect ECONNREFUSED`).
  /((?<![\w.-])(?:ssl|pg)?password\s*=\s*)(?:'(?:\\.|[^'\\])*'|(?:[^\s&:]|:(?!\s|$))+)/gi,
  // A connection string without a scheme: `bob:pw@host/db`. Not `scheme://`, which comes first.
  /((?:^|(?<=[\s"'`(<,=]))[\w.~%!$&*+;-]+:)(?!\/\/)\S*@/g,
];

/** Hides every password of a connection string inside a message, so secrets never reach output. */
export function redactSecrets(text: string): string {
  let shown = text;
  for (const pattern of secretPatterns) shown = shown.replace(pattern, (_, kept) => hidden(kept));
  return shown;
}

/** What replaces a secret: the `@` of a user-info password stays, so the host still reads as one. */
function hidden(kept: string): string {
  return /=\s*$/.test(kept) ? `${kept}***` : `${kept}***@`;
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
