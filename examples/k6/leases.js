// k6 soak test whose iterations lease a seeded user, use it, and give it back (or quarantine it).
//
//   python -m seeding.stand                                    # terminal 1: the embedded stand
//   seeding serve                                              # terminal 2: the service, http://127.0.0.1:8010
//   curl -s -X POST localhost:8010/v1/runs -H 'Content-Type: application/json' \
//        -d '{"plan": "scenario-11-2", "transport": "http", "target": "http://127.0.0.1:8003"}'
//   k6 run -e SEEDING=http://127.0.0.1:8010 -e SCENARIO=scenario-11-2 -e GATEWAY=http://127.0.0.1:8003 \
//        examples/k6/leases.js
//
// Each iteration leases a user no one else holds (across every k6 VU and instance, Locust worker
// and JMeter thread using the same service), least recently used first, waiting up to 5 s when
// all are held. A lease not returned (a VU killed mid-iteration) comes back by itself after its
// TTL. A failed check quarantines the user: no one gets it again until someone looks at it
// (GET /v1/dumps/SCENARIO/quarantine, DELETE .../quarantine/INDEX). With a token set on the
// service, add -e SEEDING_TOKEN=... .
import http from "k6/http";
import { check, fail, sleep } from "k6";

const SEEDING = __ENV.SEEDING || "http://127.0.0.1:8010";
const SCENARIO = __ENV.SCENARIO || "scenario-11-2";
const GATEWAY = __ENV.GATEWAY;
if (!GATEWAY) {
  throw new Error("no gateway: k6 run -e GATEWAY=http://HOST:PORT ... (python -m seeding.stand starts one at http://127.0.0.1:8003)");
}
const AUTH = __ENV.SEEDING_TOKEN ? { Authorization: `Bearer ${__ENV.SEEDING_TOKEN}` } : {};
const TTL = 30; // seconds: longer than one iteration, short enough that a lost lease soon comes back

export const options = { vus: 10, duration: "1m" };

export function setup() {
  const pool = http.get(`${SEEDING}/v1/dumps/${SCENARIO}/pool`, { headers: AUTH });
  if (pool.status !== 200) fail(`seeding service: ${pool.status} ${pool.body}`);
  if (pool.json("pool.free") < 1) fail(`${SCENARIO}: no user free (${pool.body})`);
}

export default function () {
  const leased = http.post(`${SEEDING}/v1/dumps/${SCENARIO}/leases?ttl=${TTL}&wait=5`, null, {
    headers: AUTH,
    tags: { name: "seeding lease" },
  });
  if (leased.status === 409) {
    console.warn(`${SCENARIO}: ${leased.json("error")}`); // every user held or quarantined: try again later
    sleep(1);
    return;
  }
  if (leased.status !== 201) fail(`seeding service: ${leased.status} ${leased.body}`);
  const lease = leased.json("lease");
  const user = leased.json("user");

  const account = user.debit_card_accounts[0];
  const operations = http.get(`${GATEWAY}/api/v1/operations?accountId=${account.account_id}`, {
    tags: { name: "/api/v1/operations" },
  });
  const ok = check(operations, { "operations 200": (r) => r.status === 200 });

  const tags = { name: "seeding return" };
  if (ok) {
    http.del(`${SEEDING}/v1/leases/${lease}`, null, { headers: AUTH, tags });
  } else {
    const reason = JSON.stringify({ reason: `k6: GET operations answered ${operations.status}` });
    http.post(`${SEEDING}/v1/leases/${lease}/quarantine`, reason, {
      headers: { ...AUTH, "Content-Type": "application/json" },
      tags: { name: "seeding quarantine" },
    });
  }
  sleep(1);
}
