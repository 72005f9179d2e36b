// k6 load test whose virtual users take their seeded users from the seeding service.
//
//   seeding stand                                    # terminal 1: the embedded stand
//   seeding serve                                              # terminal 2: the service, http://127.0.0.1:8010
//   curl -s -X POST localhost:8010/v1/runs -H 'Content-Type: application/json' \
//        -d '{"plan": "scenario-11-2", "transport": "http", "target": "http://127.0.0.1:8003"}'
//   k6 run -e SEEDING=http://127.0.0.1:8010 -e SCENARIO=scenario-11-2 -e GATEWAY=http://127.0.0.1:8003 \
//        examples/k6/handouts.js
//
// Each k6 VU asks once, on its first iteration, for a user of its own (strategy=unique: never
// given to any other VU, k6 instance, Locust worker or JMeter thread until the dump is reset).
// With a token set on the service, add -e SEEDING_TOKEN=... .
import http from "k6/http";
import { check, fail, sleep } from "k6";

const SEEDING = __ENV.SEEDING || "http://127.0.0.1:8010";
const SCENARIO = __ENV.SCENARIO || "scenario-11-2";
// The gateway, with no default: on a shared machine localhost:8003 may be someone else's stand.
const GATEWAY = __ENV.GATEWAY;
if (!GATEWAY) {
  throw new Error("no gateway: k6 run -e GATEWAY=http://HOST:PORT ... (seeding stand starts one at http://127.0.0.1:8003)");
}
const AUTH = __ENV.SEEDING_TOKEN ? { Authorization: `Bearer ${__ENV.SEEDING_TOKEN}` } : {};

export const options = { vus: 10, duration: "30s" };

export function setup() {
  // Fail fast: the dump must exist and hold a user for every VU.
  const dump = http.get(`${SEEDING}/v1/dumps/${SCENARIO}`, { headers: AUTH });
  if (dump.status !== 200) fail(`seeding service: ${dump.status} ${dump.body}`);
  const left = dump.json("dump.left");
  if (left < options.vus) fail(`${SCENARIO}: ${left} users left for ${options.vus} VUs; POST .../reset or seed more`);
}

let seeded = null; // per VU: module state is per VU in k6

function seededUser() {
  if (seeded === null) {
    const answer = http.post(`${SEEDING}/v1/dumps/${SCENARIO}/next?strategy=unique`, null, {
      headers: AUTH,
      tags: { name: "seeding next" },
    });
    if (answer.status === 409) fail(`${SCENARIO}: no seeded user left (${answer.json("error")})`);
    if (answer.status !== 200) fail(`seeding service: ${answer.status} ${answer.body}`);
    seeded = answer.json("user");
  }
  return seeded;
}

export default function () {
  const user = seededUser();
  const account = user.debit_card_accounts[0];
  const operations = http.get(`${GATEWAY}/api/v1/operations?accountId=${account.account_id}`, {
    tags: { name: "/api/v1/operations" },
  });
  check(operations, { "operations 200": (r) => r.status === 200 });
  sleep(1);
}
