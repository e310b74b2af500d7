/**
 * A reminder's body for an event starting within the hour: "In 12 min · 10:00–10:30", or with
 * dates when the event ends on the next day, as one made late in the evening does.
 */
export const SOON_BODY = /^In \d+ min · (\d\d:\d\d–\d\d:\d\d|\d{4}-\d\d-\d\d \d\d:\d\d – \d{4}-\d\d-\d\d \d\d:\d\d)$/;
