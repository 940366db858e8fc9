// Every password of a connection string is hidden, in every form a user may write one, and the
// rest of the string still says which server was meant.
import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { checkDatabaseUrl, connectionParts } from '../../src/store/connect.ts';
import { redactError, redactSecrets } from '../../src/store/redact.ts';

describe('redactSecrets', () => {
  test.each([
    ['user:pass@', 'postgres://bob:s3cret@db:5432/x', 'postgres://bob:***@db:5432/x'],
    ['postgresql://', 'postgresql://bob:pw@db/x', 'postgresql://bob:***@db/x'],
    ['a percent-escaped password', 'postgres://bob:s3cr%40t@db/x', 'postgres://bob:***@db/x'],
    ['no user', 'postgres://:s3cret@db/x', 'postgres://:***@db/x'],
    ['raw @ in the password', 'postgres://bob:p@ss@db/x', 'postgres://bob:***@db/x'],
    ['raw / and # in the password', 'postgres://bob:p/a#ss@db/x', 'postgres://bob:***@db/x'],
    [
      'several hosts',
      'postgres://bob:pw@h1:5432,h2:5433/x',
      'postgres://bob:***@h1:5432,h2:5433/x',
    ],
    ['?password=', 'postgres://bob@db/x?password=s3cret', 'postgres://bob@db/x?password=***'],
    [
      '&password=',
      'postgres://bob@db/x?sslmode=disable&password=s3cret&application_name=a',
      'postgres://bob@db/x?sslmode=disable&password=***&application_name=a',
    ],
    [
      '?sslpassword=',
      'postgres://bob@db/x?sslpassword=s3cret',
      'postgres://bob@db/x?sslpassword=***',
    ],
    [
      '&sslpassword=',
      'postgres://db/x?sslmode=require&SSLPassword=s3cret',
      'postgres://db/x?sslmode=require&SSLPassword=***',
    ],
    ['a password with a raw #', 'postgres://db/x?password=s3#cret', 'postgres://db/x?password=***'],
    ['no scheme', 'bob:s3cret@host/db', 'bob:***@host/db'],
    ['no scheme, in a sentence', 'use bob:s3cret@host/db here', 'use bob:***@host/db here'],
    ['no scheme, in a variable', 'DATABASE_URL=bob:s3cret@host/db', 'DATABASE_URL=bob:***@host/db'],
    ['a key/value string', 'host=db password=s3cret dbname=x', 'host=db password=*** dbname=x'],
    [
      'a quoted key/value password',
      "host=db password='s3 cret' dbname=x",
      'host=db password=*** dbname=x',
    ],
    ['PGPASSWORD', 'PGPASSWORD=s3cret psql', 'PGPASSWORD=*** psql'],
  ])('%s', (_, text, shown) => {
    expect(redactSecrets(text)).toBe(shown);
    expect(redactSecrets(text)).not.toContain('s3');
  });

  test('the message around a URL is kept', () => {
    expect(
      redactSecrets(
        'Cannot reach the database at postgres://bob@127.0.0.1:1/x?password=s3cret: connect ECONNREFUSED 127.0.0.1:1',
      ),
    ).toBe(
      'Cannot reach the database at postgres://bob@127.0.0.1:1/x?password=***: connect ECONNREFUSED 127.0.0.1:1',
    );
    expect(redactSecrets('got `"postgres://bob:s3cret@db/x"` (string)')).toBe(
      'got `"postgres://bob:***@db/x"` (string)',
    );
  });

  test('text without a password is left alone', () => {
    for (const text of [
      'postgres://db/x',
      'postgres://bob@db:5432/x?sslmode=require',
      'Error: bob@example.com failed: timeout',
      '    at run (file:///app/node_modules/@scope/pkg/index.js:10:5)',
      '    at Object.<anonymous> (/app/node_modules/@scope/pkg/index.js:10:5)',
      'password=',
    ]) {
      expect(redactSecrets(text)).toBe(text);
    }
  });

  test('redactError hides the password in the message and the stack, keeping the class', () => {
    const error = redactError(new TypeError('cannot reach postgres://db/x?password=s3cret'));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('cannot reach postgres://db/x?password=***');
    expect(error.stack).not.toContain('s3cret');
  });
});

describe('connectionParts', () => {
  test.each([
    ['postgres://bob@db/x?password=s3cret', 'postgres://bob@db/x', 's3cret'],
    [
      'postgres://bob@db/x?sslmode=disable&password=a%26b+c&application_name=x',
      'postgres://bob@db/x?sslmode=disable&application_name=x',
      'a&b+c',
    ],
    ['postgres://db/x?Password=s3cret#frag', 'postgres://db/x#frag', 's3cret'],
    [
      'postgres://db/x?sslpassword=s3cret&sslmode=require',
      'postgres://db/x?sslmode=require',
      undefined,
    ],
    ['postgres://bob:pw@db/x', 'postgres://bob:pw@db/x', undefined],
  ])('%s', (url, postgresUrl, password) => {
    expect(connectionParts(url)).toEqual({ url: postgresUrl, password });
  });
});

describe('checkDatabaseUrl', () => {
  test.each([
    [
      'no scheme',
      'bob:s3cret@127.0.0.1/db',
      '`--database-url` is not a postgres:// or postgresql:// URL: bob:***@127.0.0.1/db',
    ],
    [
      'another scheme',
      'mysql://bob:s3cret@127.0.0.1/db',
      '`--database-url` is not a postgres:// or postgresql:// URL: mysql://bob:***@127.0.0.1/db',
    ],
    [
      'a bad escape in ?password=',
      'postgres://bob@127.0.0.1/db?password=s3%cret',
      '`--database-url` has a bad percent escape: postgres://bob@127.0.0.1/db?password=***; write a literal % in a password as %25',
    ],
  ])('refuses %s, its password hidden', (_, url, message) => {
    const check = () => checkDatabaseUrl(url, '--database-url');
    expect(check).toThrow(InputError);
    expect(check).toThrow(message);
  });
});
