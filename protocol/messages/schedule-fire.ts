import * as v from "valibot";
import { envelope, Id, Timestamp } from "../common.ts";

/** The agent's cron fired locally; the server decides whether it becomes a job. */
export const ScheduleFirePayload = v.object({ schedule_id: Id, scheduled_at: Timestamp });
export type ScheduleFirePayload = v.InferOutput<typeof ScheduleFirePayload>;
export const ScheduleFire = envelope("schedule.fire", ScheduleFirePayload);
export type ScheduleFire = v.InferOutput<typeof ScheduleFire>;
