import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** A network namespace with one veth link to the root namespace: a host of its own. */
export interface Host {
  namespace: string;
  /** This host's address, inside its namespace. */
  address: string;
  /** The root namespace's end of the link: where this host reaches the database. */
  gateway: string;
  /** The link's end in the root namespace; setting it down cuts the host off. */
  link: string;
  cut(): Promise<void>;
  heal(): Promise<void>;
}

/**
 * Creates `count` hosts, each in its own namespace on its own /30 of 10.210.x.0/24 (x random, so
 * two runs on one machine do not collide). Throws a loud error when the machine does not allow
 * network namespaces: the partition test must never pass without partitioning anything.
 */
export async function createHosts(
  count: number,
): Promise<{ hosts: Host[]; remove(): Promise<void> }> {
  const tag = randomBytes(2).toString('hex');
  const subnet = 1 + ((randomBytes(1)[0] as number) % 250);
  const hosts: Host[] = [];
  const remove = async () => {
    for (const host of hosts) {
      // Deleting the namespace deletes its end of the veth pair, and so the pair.
      await ip('netns', 'del', host.namespace).catch(() => {});
      await ip('link', 'del', host.link).catch(() => {});
    }
  };
  try {
    for (let i = 0; i < count; i++) {
      const namespace = `sluice-${tag}-${i}`;
      const link = `sl${tag}h${i}`;
      const peer = `sl${tag}n${i}`;
      const gateway = `10.210.${subnet}.${i * 4 + 1}`;
      const address = `10.210.${subnet}.${i * 4 + 2}`;
      try {
        await ip('netns', 'add', namespace);
      } catch (error) {
        throw new Error(
          `THIS MACHINE DOES NOT ALLOW NETWORK NAMESPACES (ip netns add failed: ${(error as Error).message.trim()}); the partition test needs root and CAP_NET_ADMIN and cannot run here`,
        );
      }
      const host: Host = {
        namespace,
        address,
        gateway,
        link,
        cut: () => ip('link', 'set', link, 'down'),
        heal: () => ip('link', 'set', link, 'up'),
      };
      hosts.push(host);
      await ip('link', 'add', link, 'type', 'veth', 'peer', 'name', peer);
      await ip('link', 'set', peer, 'netns', namespace);
      await ip('addr', 'add', `${gateway}/30`, 'dev', link);
      await ip('link', 'set', link, 'up');
      await ip('-n', namespace, 'addr', 'add', `${address}/30`, 'dev', peer);
      await ip('-n', namespace, 'link', 'set', peer, 'up');
      await ip('-n', namespace, 'link', 'set', 'lo', 'up');
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return { hosts, remove };
}
