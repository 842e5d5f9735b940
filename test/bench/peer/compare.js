#!/usr/bin/env node
// make bench: chanstate-bench and the OTP peer (peer.exs), same scenarios,
// same definitions, alternating in one sitting; prints the medians side by
// side with their ratios.
//
//   node compare.js BENCH_BINARY PEER_SCRIPT [--reps=3] [--scale-channels=N] [--smoke]
//
// --smoke: tiny sizes, one rep; checks that every figure is there (CTest).
'use strict';
const { spawnSync } = require('child_process');

const [bench, peer, ...rest] = process.argv.slice(2);
if (!bench || !peer) {
  console.error('usage: compare.js BENCH_BINARY PEER_SCRIPT [--reps=N] [--scale-channels=N] [--smoke]');
  process.exit(2);
}
const smoke = rest.includes('--smoke');
const repsArg = rest.find((a) => a.startsWith('--reps='));
const reps = smoke ? 1 : Number(repsArg ? repsArg.slice(7) : 3);
const scaleArg = rest.find((a) => a.startsWith('--scale-channels='));
// 100 000 by default: a million channels holds ~4 GB of RAM in chanstate
// alone (README, "A million channels"); --scale-channels=1000000 asks for it.
const scaleN = smoke ? 2000 : Number(scaleArg ? scaleArg.slice(17) : 100000);

// name, the flags both take, then which figures to compare:
// [label, chanstate field, peer field, better ("hi"|"lo")].
const scenarios = [
  { name: 'steady', args: smoke ? ['--channels=20', '--events=100'] : [],
    figures: [['steady events/s (write-through on)', 'events_per_s_on', 'events_per_s', 'hi'],
              ['steady write-through on/off', 'ratio_on_off', null, 'hi']] },
  { name: 'recover', args: ['--payload=list100'].concat(smoke ? ['--channels=200'] : []),
    figures: [['recover list100 recoveries/s', 'recoveries_per_s', 'recoveries_per_s', 'hi'],
              ['recover list100 p99 ms', 'p99_ms', 'p99_ms', 'lo'],
              ['recover list100 restored_ok', 'restored_ok', 'restored_ok', 'hi']] },
  { name: 'recover', args: ['--payload=bin1k'].concat(smoke ? ['--channels=200'] : []),
    figures: [['recover bin1k recoveries/s', 'recoveries_per_s', 'recoveries_per_s', 'hi'],
              ['recover bin1k p99 ms', 'p99_ms', 'p99_ms', 'lo']] },
  { name: 'kill', args: ['--payload=list100'].concat(smoke ? ['--channels=200'] : []),
    figures: [['kill list100 recoveries/s', 'recoveries_per_s', 'recoveries_per_s', 'hi'],
              ['kill list100 states lost', 'lost', 'lost', 'lo']] },
  { name: 'memory', args: ['--payload=list100'].concat(smoke ? ['--backups=2000'] : []),
    figures: [['memory list100 heap B/backup (peer: ETS)', 'heap_bytes_per_backup', 'ets_bytes_per_backup', 'lo'],
              ['memory RSS B/idle channel (peer: process)', 'bytes_per_channel', 'bytes_per_channel', 'lo']] },
  { name: 'memory', args: ['--payload=bin1k'].concat(smoke ? ['--backups=2000'] : []),
    figures: [['memory bin1k heap B/backup (peer: ETS+off-heap)', 'heap_bytes_per_backup', 'bytes_per_backup', 'lo']] },
  { name: 'scale', args: [`--channels=${scaleN}`],
    figures: [['scale restored_ok', 'restored_ok', 'restored_ok', 'hi'],
              ['scale lost+stale', 'lost_stale', 'lost_stale', 'lo'],
              ['scale join_s', 'join_s', 'join_s', 'lo'],
              ['scale restore_all_s', 'restore_all_s', 'restore_all_s', 'lo'],
              ['scale peak RSS MB', 'peak_rss_mb', 'peak_rss_mb', 'lo']] },
];

function runJson(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26,
                                   stdio: ['ignore', 'pipe', 'pipe'] });
  const line = (r.stdout || '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) {
    // Reported and left out of the medians; the table still prints.
    process.stderr.write(`\nbench: ${cmd} ${args.join(' ')} failed (exit ${r.status}):\n`
                         + (r.stderr || '').split('\n').slice(-8).join('\n') + '\n');
    return { failed: true };
  }
  const out = JSON.parse(line);
  if ('lost' in out && 'stale' in out) out.lost_stale = out.lost + out.stale;
  return out;
}

// The BEAM needs room for a million channels plus their clients.
const erl = ['--erl', '+P 4000000'];
const results = scenarios.map(() => ({ ours: [], peer: [] }));
for (let rep = 1; rep <= reps; ++rep) {
  scenarios.forEach((s, i) => {
    const tag = `${s.name} ${s.args.join(' ')}`.trim();
    process.stderr.write(`bench: rep ${rep}/${reps} ${tag} ... chanstate`);
    results[i].ours.push(runJson(bench, [s.name, ...s.args]));
    process.stderr.write(', peer');
    results[i].peer.push(runJson('elixir', [...erl, peer, s.name, ...s.args]));
    process.stderr.write('\n');
  });
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return null;
  const k = Math.floor(v.length / 2);
  return v.length % 2 ? v[k] : (v[k - 1] + v[k]) / 2;
};
const fmt = (x) => (x === null ? '–' : Number.isInteger(x) ? String(x)
                    : x >= 100 ? x.toFixed(0) : x.toFixed(2));

const rows = [];
let missing = 0;
scenarios.forEach((s, i) => {
  for (const [label, ourKey, peerKey, better] of s.figures) {
    const a = median(results[i].ours.map((o) => o[ourKey]));
    const b = peerKey ? median(results[i].peer.map((o) => o[peerKey])) : null;
    if (a === null || (peerKey && b === null)) ++missing;
    const ratio = a !== null && b ? a / b : null;
    rows.push([label, fmt(a), fmt(b), ratio === null ? '–' : `${ratio.toFixed(2)}×`,
               better === 'hi' ? 'higher' : 'lower']);
  }
});
const alloc = (results[0].ours.find((o) => o.allocator) || {}).allocator || '?';
const env = results[0].peer.find((o) => o.otp) || {};
console.log(`chanstate-bench (${alloc}) vs OTP peer (OTP ${env.otp}, Elixir ${env.elixir}, `
            + `${env.schedulers} schedulers): medians of ${reps}, alternating runs\n`);
console.log('| figure | chanstate | OTP peer | ratio | better |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (missing) {
  console.error(`bench: ${missing} figure(s) missing from the JSON lines`);
  process.exit(1);
}
