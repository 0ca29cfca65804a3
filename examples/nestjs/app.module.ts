import { Module } from '@nestjs/common';
import { ChatService } from './chat.service.js';
import { EventsController } from './events.controller.js';
import { Sessions } from './session.guard.js';

@Module({ controllers: [EventsController], providers: [ChatService, Sessions] })
export class AppModule {}
