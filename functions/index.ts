// The one list of Inngest functions; every serve handler (Node, Workers) serves exactly this array.
import { promote } from "./promote.ts";

export const functions = [promote];
