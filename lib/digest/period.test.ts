// The digest's period in its time zone: local midnights (also across DST changes), the daily day
// before, the weekly seven days before; and the schedules read at module load.
import { describe, expect, it } from "vitest";
import {
  addDays,
  cronWeekdays,
  daysSincePreviousFiring,
  digestPeriod,
  localDate,
  startOfLocalDay,
} from "./period.ts";
import { digestCron, parseDigestSchedule } from "./schedule.ts";

describe("digestPeriod", () => {
  it("covers the local day before, from local midnight to local midnight", () => {
    // Tuesday 08:00 in Paris (UTC+1 in winter) is 07:00 UTC.
    const p = digestPeriod("daily", new Date("2026-03-10T07:00:00Z"), "Europe/Paris");
    expect(p).toEqual({
      kind: "daily",
      timeZone: "Europe/Paris",
      from: "2026-03-09",
      to: "2026-03-09",
      days: 1,
      start: "2026-03-08T23:00:00.000Z",
      end: "2026-03-09T23:00:00.000Z",
      at: "2026-03-10T07:00:00.000Z",
    });
  });

  it("covers the seven days before for the weekly digest (Monday: the past Monday to Sunday)", () => {
    const p = digestPeriod("weekly", new Date("2026-03-09T07:00:00Z"), "Europe/Paris");
    expect(p).toMatchObject({ from: "2026-03-02", to: "2026-03-08", days: 7 });
    expect(p.start).toBe("2026-03-01T23:00:00.000Z");
    expect(p.end).toBe("2026-03-08T23:00:00.000Z");
  });

  it("covers every day since the previous firing: Monday's weekday daily is Friday to Sunday", () => {
    const weekdays = cronWeekdays("0 8 * * 1-5");
    const monday = digestPeriod("daily", new Date("2026-03-09T08:00:00Z"), "UTC", { firesOn: weekdays });
    expect(monday).toMatchObject({ from: "2026-03-06", to: "2026-03-08", days: 3 });
    expect(monday.start).toBe("2026-03-06T00:00:00.000Z");
    expect(monday.end).toBe("2026-03-09T00:00:00.000Z");
    const tuesday = digestPeriod("daily", new Date("2026-03-10T08:00:00Z"), "UTC", { firesOn: weekdays });
    expect(tuesday).toMatchObject({ from: "2026-03-09", to: "2026-03-09", days: 1 });
    // Every day, or no schedule known: the day before.
    expect(
      digestPeriod("daily", new Date("2026-03-09T08:00:00Z"), "UTC", { firesOn: cronWeekdays("0 8 * * *") })
        .days,
    ).toBe(1);
    expect(digestPeriod("daily", new Date("2026-03-09T08:00:00Z"), "UTC").days).toBe(1);
    // The weekly is seven days whatever the daily's schedule.
    expect(digestPeriod("weekly", new Date("2026-03-09T08:00:00Z"), "UTC", { firesOn: weekdays }).days).toBe(
      7,
    );
  });

  it("reads a cron's weekdays as cron does: ranges, lists, names, steps, 7 as Sunday", () => {
    const days = (expr: string) => [...cronWeekdays(expr)].sort();
    expect(days("0 8 * * 1-5")).toEqual([1, 2, 3, 4, 5]);
    expect(days("0 8 * * *")).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(days("0 8 * * MON,WED,fri")).toEqual([1, 3, 5]);
    expect(days("0 8 * * 5-7")).toEqual([0, 5, 6]);
    expect(days("0 8 * * 7")).toEqual([0]);
    expect(days("0 8 * * */2")).toEqual([0, 2, 4, 6]);
    expect(days("0 8 * * 1-5/2")).toEqual([1, 3, 5]);
    expect(days("0 8 * * nonsense")).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(daysSincePreviousFiring(1, cronWeekdays("0 8 * * 1"))).toBe(7);
    expect(daysSincePreviousFiring(3, cronWeekdays("0 8 * * 1,3"))).toBe(2);
  });

  it("reads 'yesterday' in the zone, not in UTC", () => {
    // 23:30 UTC on the 9th is already the 10th in Tokyo, still the 9th in New York.
    const at = new Date("2026-03-09T23:30:00Z");
    expect(digestPeriod("daily", at, "Asia/Tokyo").from).toBe("2026-03-09");
    expect(digestPeriod("daily", at, "America/New_York").from).toBe("2026-03-08");
    expect(digestPeriod("daily", at, "UTC")).toMatchObject({
      from: "2026-03-08",
      start: "2026-03-08T00:00:00.000Z",
      end: "2026-03-09T00:00:00.000Z",
    });
  });

  it("has a 23-hour day when the clocks go forward and a 25-hour one when they go back", () => {
    const spring = digestPeriod("daily", new Date("2026-03-30T06:00:00Z"), "Europe/Paris");
    expect(spring).toMatchObject({ from: "2026-03-29", start: "2026-03-28T23:00:00.000Z" });
    expect(Date.parse(spring.end) - Date.parse(spring.start)).toBe(23 * 3_600_000);
    const autumn = digestPeriod("daily", new Date("2026-10-26T07:00:00Z"), "Europe/Paris");
    expect(autumn).toMatchObject({ from: "2026-10-25", start: "2026-10-24T22:00:00.000Z" });
    expect(Date.parse(autumn.end) - Date.parse(autumn.start)).toBe(25 * 3_600_000);
  });

  it("finds local midnight and the local date", () => {
    expect(startOfLocalDay("2026-07-01", "America/Los_Angeles").toISOString()).toBe(
      "2026-07-01T07:00:00.000Z",
    );
    expect(startOfLocalDay("2026-01-01", "Asia/Kolkata").toISOString()).toBe("2025-12-31T18:30:00.000Z");
    // DST begins at midnight (00:00 → 01:00): the day begins at 01:00 local, not at 23:00 the day before.
    expect(startOfLocalDay("2026-09-06", "America/Santiago").toISOString()).toBe("2026-09-06T04:00:00.000Z");
    expect(startOfLocalDay("2026-09-05", "America/Santiago").toISOString()).toBe("2026-09-05T04:00:00.000Z");
    expect(startOfLocalDay("2026-09-07", "America/Santiago").toISOString()).toBe("2026-09-07T03:00:00.000Z");
    // …and where it ends at midnight (24:00 → 23:00 again), the day begins at the one 00:00 it has.
    expect(startOfLocalDay("2026-04-05", "America/Santiago").toISOString()).toBe("2026-04-05T04:00:00.000Z");
    expect(localDate(new Date("2025-12-31T18:30:00Z"), "Asia/Kolkata")).toBe("2026-01-01");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(addDays("2024-02-28", 1)).toBe("2024-02-29");
  });
});

describe("digest schedule", () => {
  it("defaults to 08:00 on weekdays and Mondays in UTC, as Inngest crons with a TZ prefix", () => {
    const s = parseDigestSchedule({});
    expect(digestCron(s, "daily")).toBe("TZ=UTC 0 8 * * 1-5");
    expect(digestCron(s, "weekly")).toBe("TZ=UTC 0 8 * * 1");
  });

  it("takes the zone and the expressions from the environment, and off for none", () => {
    const s = parseDigestSchedule({
      FOREMAN_DIGEST_TZ: "Europe/Paris",
      FOREMAN_DIGEST_CRON: " 30  7 * * 1-5 ",
      FOREMAN_DIGEST_WEEKLY_CRON: "off",
    });
    expect(digestCron(s, "daily")).toBe("TZ=Europe/Paris 30 7 * * 1-5");
    expect(digestCron(s, "weekly")).toBeUndefined();
  });

  it("refuses an unknown zone, a four-field cron and a TZ= prefix, naming each variable", () => {
    expect(() => parseDigestSchedule({ FOREMAN_DIGEST_TZ: "Mars/Olympus" })).toThrow(/FOREMAN_DIGEST_TZ/);
    expect(() => parseDigestSchedule({ FOREMAN_DIGEST_CRON: "0 8 * *" })).toThrow(/FOREMAN_DIGEST_CRON/);
    expect(() => parseDigestSchedule({ FOREMAN_DIGEST_WEEKLY_CRON: "TZ=UTC 0 8 * * 1" })).toThrow(
      /FOREMAN_DIGEST_WEEKLY_CRON: .*the zone is FOREMAN_DIGEST_TZ/,
    );
  });
});
