"""Real CalDAV clients nobody here wrote, driven by the tests: python3-caldav for the protocol,
python3-icalendar and python3-recurring-ical-events to read what the server says.

Usage: dav_client.py COMMAND URL PASSWORD [JSON]   (prints one JSON object)
"""
import datetime
import json
import os
import sys

import caldav
import icalendar
import recurring_ical_events
import requests


def client(url, password, user="anyone"):
    # DAV_VERIFY names the desk's certificate (PEM) to trust, as a person trusts it by hand.
    verify = os.environ.get("DAV_VERIFY") or True
    return caldav.DAVClient(url=url, username=user, password=password, ssl_verify_cert=verify)


def calendars(url, password):
    principal = client(url, password).principal()
    return principal.calendars()


def by_name(url, password, name):
    for cal in calendars(url, password):
        if cal.name == name:
            return cal
    raise SystemExit(f"no calendar named {name}")


def texts(component):
    return {k: str(component.get(k)) for k in ("SUMMARY", "DESCRIPTION", "LOCATION", "UID") if component.get(k) is not None}


def events_of(data):
    cal = icalendar.Calendar.from_ical(data)
    return [c for c in cal.walk("VEVENT")]


def iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def cmd_discover(url, password, _args):
    found = calendars(url, password)
    return {"calendars": [{"name": c.name, "url": str(c.url)} for c in found]}


def cmd_put(url, password, args):
    """Saves an iCalendar text in a calendar (by name) the way the library does; answers its URL."""
    cal = by_name(url, password, args["calendar"])
    event = cal.save_event(args["ics"])
    return {"url": str(event.url)}


def cmd_get(url, password, args):
    """GET of one resource: status, ETag, and what icalendar reads in it."""
    r = client(url, password).request(args["url"])
    out = {"status": r.status, "etag": r.headers.get("ETag")}
    if r.status == 200:
        out["raw"] = r.raw if isinstance(r.raw, str) else r.raw.decode("utf-8")
        out["events"] = [
            {
                **texts(e),
                "dtstart": iso(e.decoded("DTSTART")),
                "dtend": iso(e.decoded("DTEND")) if e.get("DTEND") else None,
                "recurrence_id": iso(e.decoded("RECURRENCE-ID")) if e.get("RECURRENCE-ID") else None,
                "rrule": e.get("RRULE").to_ical().decode() if e.get("RRULE") else None,
                "alarms": [str(a.get("TRIGGER").to_ical().decode()) for a in e.walk("VALARM")],
            }
            for e in events_of(out["raw"])
        ]
        tzids = {str(p.params["TZID"]) for e in events_of(out["raw"]) for p in e.values() if hasattr(p, "params") and "TZID" in getattr(p, "params", {})}
        zones = {str(z.get("TZID")) for z in icalendar.Calendar.from_ical(out["raw"]).walk("VTIMEZONE")}
        out["tzids"] = sorted(tzids)
        out["vtimezones"] = sorted(zones)
    return out


def cmd_request(url, password, args):
    """A raw request with the library's client (auth included): method, headers, body."""
    r = client(url, password).request(args["url"], args["method"], args.get("body", ""), args.get("headers", {}))
    raw = r.raw if isinstance(r.raw, str) else r.raw.decode("utf-8", "replace")
    return {"status": r.status, "etag": r.headers.get("ETag"), "body": raw}


def cmd_expand(url, password, args):
    """The occurrences a resource has between two dates, expanded by recurring-ical-events."""
    r = client(url, password).request(args["url"])
    cal = icalendar.Calendar.from_ical(r.raw)
    start = datetime.date.fromisoformat(args["from"])
    end = datetime.date.fromisoformat(args["to"])
    found = recurring_ical_events.of(cal).between(start, end)
    return {"occurrences": sorted([{"summary": str(e.get("SUMMARY")), "start": iso(e["DTSTART"].dt), "end": iso(e["DTEND"].dt)} for e in found], key=lambda o: o["start"])}


def cmd_search(url, password, args):
    """calendar-query with a time-range: the UIDs the server answers."""
    cal = by_name(url, password, args["calendar"])
    start = datetime.datetime.fromisoformat(args["from"])
    end = datetime.datetime.fromisoformat(args["to"])
    found = cal.date_search(start, end, expand=False)
    uids = sorted({str(e.icalendar_component.get("UID")) for e in found})
    return {"uids": uids}


def cmd_sync(url, password, args):
    """sync-collection: with no token everything, with a token only what changed since."""
    cal = by_name(url, password, args["calendar"])
    result = cal.objects_by_sync_token(sync_token=args.get("token"), load_objects=True)
    items = []
    for obj in result:
        items.append({"url": str(obj.url), "uid": str(obj.icalendar_component.get("UID")) if obj.data else None, "gone": not obj.data})
    return {"token": result.sync_token, "items": items}


def cmd_auth(url, password, _args):
    """What a PROPFIND gets without a password and with a wrong one."""
    body = '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>'
    none = requests.request("PROPFIND", url, data=body, headers={"Depth": "0"})
    wrong = requests.request("PROPFIND", url, data=body, headers={"Depth": "0"}, auth=("anyone", password + "x"))
    right = requests.request("PROPFIND", url, data=body, headers={"Depth": "0"}, auth=("anyone", password))
    try:
        client(url, password + "x").principal()
        library = "no error"
    except caldav.lib.error.AuthorizationError as err:
        library = type(err).__name__
    return {
        "none": none.status_code,
        "noneChallenge": none.headers.get("WWW-Authenticate"),
        "wrong": wrong.status_code,
        "right": right.status_code,
        "library": library,
    }


def cmd_feed(url, _password, _args):
    """Subscribes to a feed URL like a calendar app: parse it and list its events and zones."""
    r = requests.get(url)
    out = {"status": r.status_code, "contentType": r.headers.get("Content-Type")}
    if r.status_code == 200:
        cal = icalendar.Calendar.from_ical(r.content)
        out["name"] = str(cal.get("X-WR-CALNAME"))
        out["events"] = [{**texts(e), "dtstart": iso(e.decoded("DTSTART")), "alarms": len(list(e.walk("VALARM")))} for e in cal.walk("VEVENT")]
        out["vtimezones"] = sorted(str(z.get("TZID")) for z in cal.walk("VTIMEZONE"))
        occ = recurring_ical_events.of(cal).between(datetime.date(2026, 1, 1), datetime.date(2027, 1, 1))
        out["occurrences2026"] = len(list(occ))
    return out


COMMANDS = {name[4:]: fn for name, fn in globals().items() if name.startswith("cmd_")}

if __name__ == "__main__":
    command, url, password = sys.argv[1:4]
    args = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    print(json.dumps(COMMANDS[command](url, password, args)))
