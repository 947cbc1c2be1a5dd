#!/usr/bin/env python3
"""Checks a SARIF log against the required properties of the SARIF 2.1.0
schema (sarif-schema-2.1.0.json: sarifLog requires version and runs; run
requires tool; tool requires driver; toolComponent requires name; result
requires message; message requires text or id; physicalLocation needs
artifactLocation or address; region lines start at 1; ruleIndex/ruleId refer
to the driver's rules). Prints "sarif ok: N results" or the violations."""
import json
import sys


def main(path):
    errors = []
    log = json.load(open(path))

    def need(obj, key, where):
        if not isinstance(obj, dict) or key not in obj:
            errors.append(f"{where}: missing required '{key}'")
            return None
        return obj[key]

    if need(log, "version", "sarifLog") not in (None, "2.1.0"):
        errors.append("sarifLog.version must be \"2.1.0\"")
    runs = need(log, "runs", "sarifLog")
    if runs is not None and not isinstance(runs, list):
        errors.append("sarifLog.runs must be an array")
    n = 0
    for i, run in enumerate(runs or []):
        tool = need(run, "tool", f"runs[{i}]")
        driver = need(tool, "driver", f"runs[{i}].tool") if tool is not None else None
        if driver is not None:
            need(driver, "name", f"runs[{i}].tool.driver")
        rules = (driver or {}).get("rules", [])
        ids = [r.get("id") for r in rules]
        for k, r in enumerate(rules):
            need(r, "id", f"rules[{k}]")
        for j, res in enumerate(run.get("results", [])):
            n += 1
            where = f"runs[{i}].results[{j}]"
            msg = need(res, "message", where)
            if msg is not None and "text" not in msg and "id" not in msg:
                errors.append(f"{where}.message: needs text or id")
            if res.get("level", "warning") not in ("none", "note", "warning", "error"):
                errors.append(f"{where}.level: {res['level']} is not a SARIF level")
            if "ruleIndex" in res and not (0 <= res["ruleIndex"] < len(rules)):
                errors.append(f"{where}.ruleIndex out of range")
            if "ruleId" in res and "ruleIndex" in res and ids[res["ruleIndex"]] != res["ruleId"]:
                errors.append(f"{where}: ruleId and ruleIndex disagree")
            for k, loc in enumerate(res.get("locations", [])):
                pl = loc.get("physicalLocation")
                if pl is None:
                    continue
                if "artifactLocation" not in pl and "address" not in pl:
                    errors.append(f"{where}.locations[{k}]: physicalLocation needs artifactLocation")
                region = pl.get("region", {})
                if region.get("startLine", 1) < 1:
                    errors.append(f"{where}.locations[{k}].region.startLine must be >= 1")
    for e in errors:
        print("sarif error:", e)
    if not errors:
        print(f"sarif ok: {n} results")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
