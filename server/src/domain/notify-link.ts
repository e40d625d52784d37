import type { ChannelConfig, ChannelKind, DeliveryResult, Notification } from "./channels.ts";

/** How a notification reaches its receiver: the edge implements it (server/src/notify/). */
export interface NotificationSender {
  send(kind: ChannelKind, config: ChannelConfig, n: Notification): Promise<DeliveryResult>;
}
