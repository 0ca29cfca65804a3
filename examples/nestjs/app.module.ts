import { Module } from '@nestjs/common';
import { ChatService } from './chat.service.js';
import { EventsController } from './events.controller.js';

@Module({ controllers: [EventsController], providers: [ChatService] })
export class AppModule {}
