/*
 * publish-event.c: report a critical failure to TracePulse through the station's Mosquitto,
 * QoS 1, one JSON object per message (the contract in ../firmware.md).
 *
 * Build:  cc -std=c11 -Wall -Wextra -o publish-event publish-event.c -lmosquitto
 * Run:    ./publish-event 127.0.0.1 1883 tracepulse txn-456
 *
 * Exits 0 once the broker has acknowledged the message (PUBACK), 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h> /* getpid */

static atomic_int acked_mid = -1;

/* Called from libmosquitto's network thread when the PUBACK for message `mid` arrives. */
static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
    (void)mosq;
    (void)userdata;
    atomic_store(&acked_mid, mid);
}

static long long epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    int port = argc > 2 ? atoi(argv[2]) : 1883;
    const char *prefix = argc > 3 ? argv[3] : "tracepulse";
    const char *correlation_id = argc > 4 ? argv[4] : "txn-456";
    const char *service = "evse_manager_1"; /* EVerest module id; one topic level, no / + # */

    char topic[256];
    snprintf(topic, sizeof topic, "%s/events/%s", prefix, service);

    /* A unique id lets TracePulse store a redelivered message once: station + boot + counter. */
    char id[96];
    snprintf(id, sizeof id, "EV-Station-01-%ld-%lld-1", (long)getpid(), epoch_ms());

    /* Values are fixed here; escape " and \ in anything read at run time (or use cJSON). */
    char payload[1024];
    int len = snprintf(payload, sizeof payload,
        "{\"id\":\"%s\",\"eventType\":\"SESSION_DROP\",\"service\":\"%s\","
        "\"errorCode\":\"EVCommunicationError\",\"correlationId\":\"%s\","
        "\"details\":{\"connectorId\":\"1\",\"chargerState\":\"Charging\","
        "\"stopReason\":\"EVDisconnected\",\"edgeDevice\":\"EV-Station-01\"},"
        "\"priority\":\"high\",\"timestamp\":%lld,"
        "\"message\":\"SLAC: Connection lost in matched state\"}",
        id, service, correlation_id, epoch_ms());
    if (len < 0 || (size_t)len >= sizeof payload) {
        fprintf(stderr, "payload too long\n");
        return 1;
    }

    mosquitto_lib_init();
    struct mosquitto *mosq = mosquitto_new(NULL, true, NULL);
    if (!mosq) {
        fprintf(stderr, "mosquitto_new failed\n");
        return 1;
    }
    mosquitto_publish_callback_set(mosq, on_publish);
    bool acked = false;
    int rc = mosquitto_connect(mosq, host, port, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "connect %s:%d: %s\n", host, port, mosquitto_strerror(rc));
        goto out;
    }
    mosquitto_loop_start(mosq); /* network thread: sends, receives PUBACK, reconnects */

    int mid = 0;
    rc = mosquitto_publish(mosq, &mid, topic, len, payload, 1 /* QoS */, false /* retain */);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "publish: %s\n", mosquitto_strerror(rc));
    } else {
        /* A test tool waits up to 5 s for the PUBACK; charging code would not wait, it goes on. */
        const struct timespec tick = {0, 10 * 1000 * 1000};
        for (int i = 0; i < 500 && !acked; i++) {
            acked = atomic_load(&acked_mid) == mid;
            if (!acked) nanosleep(&tick, NULL);
        }
    }
    mosquitto_disconnect(mosq);
    mosquitto_loop_stop(mosq, false);
out:
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    if (!acked) {
        fprintf(stderr, "no PUBACK for %s\n", id);
        return 1;
    }
    printf("published %s to %s\n", id, topic);
    return 0;
}
