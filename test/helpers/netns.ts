import { execFile, spawn, type SpawnOptions } from 'node:child_process';
import { awaitOutput, watchChild, within, type Run } from './hostProcess.js';

// A simulated LAN: one bridge in the root namespace, one network namespace per peer joined to
// it by a veth pair. The bridge connects to nothing else and peers get no default route, so
// nothing a peer sends (mDNS multicast included) can reach this machine's real interfaces.
// Peers route 224.0.0.0/4 to their veth: multicast-dns sends to 224.0.0.251 through
// whatever interface the kernel picks, and without that route the send fails.

const OCTETS = 200; // subnets 10.231.0.0/24 to 10.231.199.0/24
const OWNER = 'lansched-test pid=';

export interface Peer {
  /** `peer1`, `peer2`, ... in the order of `Lan.peers`. */
  name: string;
  /** The network namespace to pass to `Lan.exec`. */
  ns: string;
  /** The peer's IPv4 address on the LAN, 10.231.X.(index + 1). */
  address: string;
  /** The peer's veth end on the bridge, in the root namespace. */
  port: string;
}

export interface Lan {
  peers: Peer[];
  /** The bridge's own name and address: the test process reaches every peer through it, split or not. */
  bridge: string;
  bridgeAddress: string;
  /**
   * Starts `cmd args` inside a namespace through `ip netns exec`, which execs the command:
   * the child's pid is the program's, so killing the child kills the program.
   */
  exec(ns: string, cmd: string, args: string[], opts?: Omit<SpawnOptions, 'stdio' | 'detached'>): Run;
  /** Cuts the peers at these indexes off from the others; each side still reaches itself and the bridge. */
  split(groupB: number[]): Promise<void>;
  /** Undoes `split`; harmless when the LAN is whole. */
  heal(): Promise<void>;
  /** Pulls a peer's cable: its port on the bridge goes down, so its packets vanish without a reset. */
  unplug(index: number): Promise<void>;
  plug(index: number): Promise<void>;
  /** Drops every mDNS packet between peers (a network that blocks multicast); `allowMulticast` undoes it. */
  blockMulticast(): Promise<void>;
  allowMulticast(): Promise<void>;
  /** Kills every child started by `exec` and removes every namespace, veth, bridge and rule; safe to call twice. */
  destroy(): Promise<void>;
}

/** Runs a command in the root namespace; rejects with its stderr. */
function command(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    // A command that exits without reading its input fails the write with EPIPE; its exit status is what counts.
    child.stdin!.on('error', () => undefined).end(input);
  });
}

/** For cleanup: what is already gone is fine, any other failure is not. */
async function remove(file: string, args: string[]): Promise<void> {
  try {
    await command(file, args);
  } catch (err) {
    if (!/Cannot find device|No such file or directory|does not exist/.test((err as Error).message)) throw err;
  }
}

/** Why LAN tests cannot run on this machine, or undefined when they can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'they need root for network namespaces';
  const probe = `lsprobe${process.pid}`;
  try {
    await command('ip', ['netns', 'add', probe]);
    await command('ip', ['netns', 'del', probe]);
  } catch (err) {
    return `\`ip netns\` does not work here (iproute2 missing or no netns support): ${(err as Error).message}`;
  }
  try {
    await command('nft', ['add', 'table', 'bridge', probe]);
    await command('nft', ['delete', 'table', 'bridge', probe]);
  } catch (err) {
    return `split() needs nftables with bridge-family support (apt-get install nftables): ${(err as Error).message}`;
  }
  return undefined;
}

/** True when running as root with working `ip netns` and `nft` (see `netnsUnavailable` for the reason). */
export async function canUseNetns(): Promise<boolean> {
  return (await netnsUnavailable()) === undefined;
}

/** Resolves with the first match of `pattern` in the child's stdout; rejects, with its output, if it exits first. */
export function waitForOutput(run: Run, pattern: RegExp, ms: number, what: string): Promise<RegExpExecArray> {
  return awaitOutput({
    output: run.child.stdout!,
    found: () => pattern.exec(run.stdout()),
    exited: run.closed,
    exitMessage: (exit) => `${what}: the process exited (${exit.code ?? exit.signal}) first:\n${run.stdout()}${run.stderr()}`,
    timeoutMs: ms,
    what,
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Claims a free 10.231.X.0/24 by creating its bridge `lsb<X>`: the bridge name is the lock
 * that keeps parallel runs apart. Starts at the pid so they rarely even try the same X, and
 * reclaims a bridge whose owning process is dead (a run killed before its cleanup).
 */
async function claimSubnet(): Promise<number> {
  for (let k = 0; k < OCTETS; k++) {
    const x = (process.pid + k) % OCTETS;
    const bridge = `lsb${x}`;
    const [link] = JSON.parse(await command('ip', ['-j', 'link', 'show', 'dev', bridge]).catch(() => '[]')) as { ifalias?: string }[];
    if (link) {
      const owner = link.ifalias?.startsWith(OWNER) ? Number(link.ifalias.slice(OWNER.length)) : undefined;
      if (owner === undefined || alive(owner)) continue;
      await removeStale(x);
    }
    // A subnet this machine really uses is not ours to shadow.
    if ((await command('ip', ['-4', '-o', 'addr', 'show', 'to', `10.231.${x}.0/24`])).trim() !== '') continue;
    try {
      await command('ip', ['link', 'add', bridge, 'type', 'bridge']);
    } catch (err) {
      if (/File exists/.test((err as Error).message)) continue;
      throw err;
    }
    return x;
  }
  throw new Error('no free subnet in 10.231.0.0/16 for a test LAN');
}

/** Removes what a dead run left under subnet X; its namespaces would block new ones of the same name. */
async function removeStale(x: number): Promise<void> {
  for (const line of (await command('ip', ['netns', 'list'])).split('\n')) {
    const ns = line.split(' ')[0]!;
    if (ns.startsWith(`lsn${x}p`)) await remove('ip', ['netns', 'del', ns]);
  }
  for (const link of JSON.parse(await command('ip', ['-j', 'link', 'show'])) as { ifname: string }[]) {
    if (link.ifname.startsWith(`lsv${x}p`)) await remove('ip', ['link', 'del', link.ifname]);
  }
  await remove('nft', ['delete', 'table', 'bridge', `lansched${x}`]);
  await remove('ip', ['link', 'del', `lsb${x}`]);
}

/** Builds a LAN of `peers` namespaces on a bridge; on any failure it removes what it built and rejects. */
export async function createLan({ peers: count }: { peers: number }): Promise<Lan> {
  if (!Number.isInteger(count) || count < 1 || count > 253) throw new TypeError(`peers must be an integer from 1 to 253, got ${count}`);
  // Undo steps, pushed as each thing is created, run newest first.
  const undo: (() => Promise<void>)[] = [];
  const running = new Set<Run>();
  let destroying: Promise<void> | undefined;

  const destroy = (): Promise<void> =>
    (destroying ??= (async () => {
      const failures: unknown[] = [];
      for (const run of running) run.child.kill('SIGKILL');
      const exited = Promise.all([...running].map((run) => run.closed.catch(() => undefined)));
      await within(exited, 10_000, 'LAN processes to exit').catch((err: unknown) => failures.push(err));
      for (const step of undo.reverse()) await step().catch((err: unknown) => failures.push(err));
      if (failures.length > 0) throw new AggregateError(failures, 'LAN cleanup failed');
    })());

  const exec: Lan['exec'] = (ns, cmd, args, opts = {}) => {
    if (destroying) throw new Error('the LAN is destroyed');
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    const run = watchChild(child);
    running.add(run);
    run.closed.finally(() => running.delete(run)).catch(() => undefined);
    return run;
  };

  try {
    const x = await claimSubnet();
    const bridge = `lsb${x}`;
    const table = `lansched${x}`;
    undo.push(() => remove('ip', ['link', 'del', bridge]));
    await command('ip', ['link', 'set', bridge, 'alias', `${OWNER}${process.pid}`]);
    await command('ip', ['addr', 'add', `10.231.${x}.254/24`, 'dev', bridge]);
    await command('ip', ['link', 'set', bridge, 'up']);
    undo.push(() => remove('nft', ['delete', 'table', 'bridge', table]));

    const peers: Peer[] = [];
    for (let i = 0; i < count; i++) {
      const peer = { name: `peer${i + 1}`, ns: `lsn${x}p${i}`, address: `10.231.${x}.${i + 1}`, port: `lsv${x}p${i}` };
      await command('ip', ['netns', 'add', peer.ns]);
      undo.push(() => remove('ip', ['netns', 'del', peer.ns]));
      // Deleting our end removes both ends at once; deleting the namespace alone frees them later.
      await command('ip', ['link', 'add', peer.port, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', peer.ns]);
      undo.push(() => remove('ip', ['link', 'del', peer.port]));
      await command('ip', ['link', 'set', peer.port, 'master', bridge, 'up']);
      await command('ip', ['-n', peer.ns, 'link', 'set', 'lo', 'up']);
      await command('ip', ['-n', peer.ns, 'addr', 'add', `${peer.address}/24`, 'dev', 'lan0']);
      await command('ip', ['-n', peer.ns, 'link', 'set', 'lan0', 'up']);
      await command('ip', ['-n', peer.ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lan0']);
      peers.push(peer);
    }

    const split = async (groupB: number[]): Promise<void> => {
      const b = new Set(groupB);
      if (b.size === 0 || b.size >= peers.length || [...b].some((i) => peers[i] === undefined)) {
        throw new RangeError(`split needs indexes of some but not all of the ${peers.length} peers, got [${groupB.join(', ')}]`);
      }
      const ports = (inB: boolean) => `{ ${peers.filter((_, i) => b.has(i) === inB).map((p) => `"${p.port}"`).join(', ')} }`;
      // Bridge-family rules on the forward hook see only frames passed between two ports
      // (multicast floods included), never frames to or from the bridge itself: so the
      // groups lose each other while the root namespace keeps reaching both. Isolated
      // ports could not do this for groups of two or more, whose members must still talk.
      // Adding then deleting the table first makes a second split replace the first, atomically.
      await command('nft', ['-f', '-'], [
        `add table bridge ${table}`,
        `delete table bridge ${table}`,
        `table bridge ${table} {`,
        '  chain forward {',
        '    type filter hook forward priority 0; policy accept;',
        `    iifname ${ports(true)} oifname ${ports(false)} drop`,
        `    iifname ${ports(false)} oifname ${ports(true)} drop`,
        '  }',
        '}',
        '',
      ].join('\n'));
    };

    const heal = () => remove('nft', ['delete', 'table', 'bridge', table]);

    const mdnsTable = `lanmdns${x}`;
    undo.push(() => remove('nft', ['delete', 'table', 'bridge', mdnsTable]));
    const blockMulticast = () =>
      command('nft', ['-f', '-'], [
        `add table bridge ${mdnsTable}`,
        `delete table bridge ${mdnsTable}`,
        `table bridge ${mdnsTable} {`,
        '  chain forward {',
        '    type filter hook forward priority -1; policy accept;',
        '    udp dport 5353 drop',
        '    udp sport 5353 drop',
        '  }',
        '}',
        '',
      ].join('\n')).then(() => undefined);
    const allowMulticast = () => remove('nft', ['delete', 'table', 'bridge', mdnsTable]);
    const portOf = (index: number) => {
      const peer = peers[index];
      if (!peer) throw new RangeError(`no peer ${index}`);
      return peer.port;
    };
    const unplug = (index: number) => command('ip', ['link', 'set', portOf(index), 'down']).then(() => undefined);
    const plug = (index: number) => command('ip', ['link', 'set', portOf(index), 'up']).then(() => undefined);

    return { peers, bridge, bridgeAddress: `10.231.${x}.254`, exec, split, heal, unplug, plug, blockMulticast, allowMulticast, destroy };
  } catch (err) {
    await destroy().catch(() => undefined);
    throw err;
  }
}
