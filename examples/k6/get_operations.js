// k6 run -e BASE_URL=http://127.0.0.1:8003 examples/k6/get_operations.js   (from the repository root, after the export below)
//
//   seeding get-operations --transport http --http-url http://127.0.0.1:8003
//   seeding export get-operations --format jsonl \
//       --fields index,user_id,credit_card_account_id,credit_card_account_card_id -o examples/k6/users.jsonl
//
// Every virtual user takes its own seeded user: k6 numbers VUs from 1 across the whole test.
import http from "k6/http";
import { check } from "k6";
import { SharedArray } from "k6/data";

// The gateway, with no default: on a shared machine localhost:8003 may be someone else's stand.
const BASE_URL = __ENV.BASE_URL;
if (!BASE_URL) {
  throw new Error("no gateway: k6 run -e BASE_URL=http://HOST:PORT ... (seeding stand starts one at http://127.0.0.1:8003)");
}

const users = new SharedArray("seeded users", () =>
  open("./users.jsonl")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line)),
);

export const options = { vus: 10, duration: "30s" };

export default function () {
  if (__VU > users.length) {
    throw new Error(`${users.length} seeded users for ${__VU}+ VUs: seed more (python -m seeding ... --users N)`);
  }
  const user = users[__VU - 1];
  const operations = http.get(`${BASE_URL}/api/v1/operations?accountId=${user.credit_card_account_id}`, {
    tags: { name: "/api/v1/operations" },
  });
  check(operations, { "operations listed": (r) => r.status === 200 });
  const purchase = http.post(
    `${BASE_URL}/api/v1/operations/make-purchase-operation`,
    JSON.stringify({
      status: "COMPLETED",
      amount: 100.5,
      cardId: user.credit_card_account_card_id,
      accountId: user.credit_card_account_id,
      category: "taxi",
    }),
    { headers: { "Content-Type": "application/json" }, tags: { name: "make-purchase-operation" } },
  );
  check(purchase, { "purchase made": (r) => r.status === 200 });
}
