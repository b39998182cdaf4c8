// The one list of Inngest functions; every serve handler (Node, Workers) serves exactly this array.
import { intake } from "./intake.ts";
import { outboxDrain } from "./outbox-drain.ts";
import { promote } from "./promote.ts";
import { schedule } from "./schedule.ts";

export const functions = [intake, schedule, promote, outboxDrain];
