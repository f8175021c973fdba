"""A partner's first calls through a client that openapi-python-client generated from
openapi/openapi.json: if the document is wrong, the generator refuses it or these calls fail.

Usage: PYTHONPATH=DIR python client.py BASE_URL TOKEN, with the generated package `shramsetu_client`
in DIR. The Aadhaar number registered comes from python-stdnum, not from the project.
"""

import random
import sys

from stdnum import verhoeff
from stdnum.in_ import aadhaar

from shramsetu_client import AuthenticatedClient, Client
from shramsetu_client.api.operations import healthz, readyz
from shramsetu_client.api.partners import get_worker, register
from shramsetu_client.api.schemes import list_schemes
from shramsetu_client.api.states import list_workers
from shramsetu_client.models import Problem, Registration, Worker, WorkerPage

base, token = sys.argv[1], sys.argv[2]

health = healthz.sync_detailed(client=Client(base_url=base))
assert health.status_code == 200 and health.parsed.status == "ok", health
assert readyz.sync(client=Client(base_url=base)).status == "ok"

api = AuthenticatedClient(base_url=base, token=token)
page = list_workers.sync(client=api, limit=2)
assert isinstance(page, WorkerPage) and len(page.items) == 2, page
first = page.items[0]
worker = get_worker.sync(client=api, uan=first.uan)
assert isinstance(worker, Worker) and worker.uan == first.uan, worker
assert worker.aadhaar_masked.startswith("XXXX-XXXX-")

schemes = list_schemes.sync(client=api)
assert [s.id for s in schemes.schemes][:2] == ["ncs", "sidh"], schemes

rng = random.Random()
while True:
    body = str(rng.randint(2, 9)) + "".join(rng.choice("0123456789") for _ in range(10))
    number = body + verhoeff.calc_check_digit(body)
    if aadhaar.is_valid(number):
        break
form = Registration.from_dict({
    "name": "Sunita Kumari", "gender": "female", "date_of_birth": "1994-07-21",
    "mobile": "9812345678", "aadhaar": number, "state_code": "10", "district_code": "230",
    "pincode": "800001", "relative_name": "Ramesh Prasad", "social_category": "sc",
    "occupation_nco": "9313.0100", "monthly_income_inr": 8000,
    "declarations": {"epfo_member": False, "esic_member": False, "nps_member": False,
                     "income_tax_payer": False},
})
created = register.sync_detailed(client=api, body=form, idempotency_key=f"client-{number[-6:]}")
assert created.status_code == 201, (created.status_code, created.content[:300])
assert isinstance(created.parsed, Worker) and created.parsed.aadhaar_masked.endswith(number[-4:])
again = register.sync_detailed(client=api, body=form, idempotency_key=f"client-{number[-6:]}")
assert again.status_code == 201 and again.parsed.uan == created.parsed.uan

missing = get_worker.sync_detailed(client=api, uan=created.parsed.uan[:11] + str((int(created.parsed.uan[11]) + 1) % 10))
assert missing.status_code == 422 and isinstance(missing.parsed, Problem), missing
assert missing.parsed.errors[0].field == "uan" and missing.parsed.request_id

print(f"generated client: healthz, readyz, 4 /v1 routes and a problem answer work; registered {created.parsed.uan}")
