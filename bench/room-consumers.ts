// Consumers that keep every socket in one group, as a chat room does: join on websocket.connect
// (before accepting, so a socket the client sees open is a member), leave on websocket.disconnect.
// One definition for the apps of the bench that hold their sockets in a room (bench/ws-server.ts's
// idle-connection app, bench/broadcast/app.ts, bench/faults/app.ts's chat), each with its own group.
import { Injectable, type Type } from '@nestjs/common';
import { Consumer, Group, type Message } from '../src';

/** A provider class whose consumers keep every socket in `group` while it is open. */
export function roomConsumers(group: string): Type<unknown> {
  @Injectable()
  class RoomConsumers {
    @Consumer('websocket.connect')
    async connect(message: Message): Promise<void> {
      await new Group(group).add(message.replyChannel!);
      await message.replyChannel!.send({ accept: true });
    }

    @Consumer('websocket.disconnect')
    async disconnect(message: Message): Promise<void> {
      await new Group(group).discard(message.replyChannel!);
    }
  }
  return RoomConsumers;
}
