// The one list of Inngest functions; every serve handler (Node, Workers) serves exactly this array.
import { intake } from "./intake.ts";
import { outboxDrain } from "./outbox-drain.ts";
import { promote } from "./promote.ts";
import { releaseOnCancel } from "./release-on-cancel.ts";
import { review } from "./review.ts";
import { schedule } from "./schedule.ts";
import { work } from "./work.ts";

export const functions = [intake, schedule, work, review, releaseOnCancel, promote, outboxDrain];
