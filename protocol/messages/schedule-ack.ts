import * as v from "valibot";
import { Count, envelope, Timestamp } from "../common.ts";

/** The agent applied the schedule set with this version. */
export const ScheduleAckPayload = v.object({ version: Count, applied_at: Timestamp });
export type ScheduleAckPayload = v.InferOutput<typeof ScheduleAckPayload>;
export const ScheduleAck = envelope("schedule.ack", ScheduleAckPayload);
export type ScheduleAck = v.InferOutput<typeof ScheduleAck>;
