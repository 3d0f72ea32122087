// Runs graphql-http's GraphQL-over-HTTP server audits against a running
// scholargraph and fails when any MUST audit fails. Usage: node audit.mjs URL
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/graphql');
  process.exit(2);
}

const results = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  results.push({ name: audit.name, ...result });
}

const counts = { ok: 0, warn: 0, error: 0 };
for (const r of results) {
  counts[r.status] += 1;
  const mark = r.status === 'ok' ? 'ok   ' : r.status === 'warn' ? 'WARN ' : 'ERROR';
  console.log(`${mark} ${r.name}${r.status === 'ok' ? '' : `\n      ${r.reason}`}`);
}
const mustFailures = results.filter((r) => r.status === 'error');
console.log(`\n${results.length} audits: ${counts.ok} ok, ${counts.warn} warnings (SHOULD/MAY), ${counts.error} MUST failures`);
process.exit(mustFailures.length === 0 ? 0 : 1);
