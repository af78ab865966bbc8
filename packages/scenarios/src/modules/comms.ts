/** Communication: SLAC, ISO 15118, OCPP/libocpp, the CSMS, the modem, certificates. */
import { fn, type ModuleSpec } from './spec.ts';

const slac: ModuleSpec = {
  type: 'EvseSlac',
  role: 'slac',
  dir: 'EVSE/EvseSlac',
  extraFiles: ['manifest.yaml', 'fsm/evse/states/others.cpp'],
  functions: [
    fn({
      name: 'slacImpl::run',
      file: 'main/slacImpl.cpp',
      signature: 'void slacImpl::run() {',
      line: 64,
      tags: ['matching', 'link'],
      body: [
        '    fsm_ctrl = std::make_unique<FSMController>(callbacks);',
        '    while (true) {',
        '        auto timeout = fsm_ctrl->feed();',
        '        if (timeout == 0) continue;',
        '        event_queue.wait_for(std::chrono::milliseconds(timeout));',
        '    }',
      ],
      regressions: [
        {
          line: 3,
          to: ['        if (timeout <= 0) break;'],
          message: 'EvseSlac: leave the FSM loop on error timeout',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'handle_dlink_error',
      file: 'main/slacImpl.cpp',
      signature: 'void slacImpl::handle_dlink_error() {',
      line: 132,
      tags: ['link', 'matching'],
      body: ['    fsm_ctrl->signal_error_routine_request();', '    publish_dlink_ready(false);'],
      regressions: [
        {
          line: 0,
          to: ['    // keep the matched state: the EV may re-establish the PLC link'],
          message: 'EvseSlac: keep matched state on D-LINK_ERROR',
        },
      ],
      benign: [
        {
          line: 1,
          to: ['    publish_dlink_ready(false); // ISO 15118-3 D-LINK_ERROR'],
          message: 'EvseSlac: reference spec',
        },
      ],
    }),
    fn({
      name: 'MatchingState::callback',
      file: 'fsm/evse/states/matching.cpp',
      signature: 'FSMSimpleState::CallbackReturnType MatchingState::callback() {',
      line: 55,
      tags: ['matching'],
      body: [
        '    if (session_matched) {',
        '        ctx.signal_state("MATCHED");',
        '        return sa.create_simple<MatchedState>(ctx);',
        '    }',
      ],
      regressions: [
        {
          line: 0,
          to: ['    if (session_matched or ctx.slac_config.sounding_atten_adjustment > 0) {'],
          message: 'EvseSlac: signal MATCHED as soon as attenuation is known',
        },
      ],
      benign: [],
    }),
  ],
};

const evseV2G: ModuleSpec = {
  type: 'EvseV2G',
  role: 'iso15118',
  dir: 'EVSE/EvseV2G',
  extraFiles: ['manifest.yaml', 'din_server.cpp'],
  functions: [
    fn({
      name: 'handle_iso_power_delivery',
      file: 'iso_server.cpp',
      signature: 'static enum v2g_event handle_iso_power_delivery(struct v2g_connection* conn) {',
      line: 1402,
      tags: ['power_delivery'],
      body: [
        '    if (req->ChargeProgress == iso2_chargeProgressType_Start) {',
        '        if (conn->ctx->evse_v2g_data.evse_processing[PHASE_CHARGE] != iso2_EVSEProcessingType_Finished) {',
        '            res->ResponseCode = iso2_responseCodeType_FAILED;',
        '            err = V2G_EVENT_SEND_AND_TERMINATE;',
        '        }',
      ],
      regressions: [
        {
          line: 1,
          to: [
            '        if (conn->ctx->evse_v2g_data.evse_processing[PHASE_CHARGE] != iso2_EVSEProcessingType_Finished or conn->ctx->contactor_is_open) {',
          ],
          message: 'EvseV2G: refuse PowerDelivery Start while contactors are open',
        },
      ],
      benign: [
        {
          line: 2,
          to: ['            res->ResponseCode = iso2_responseCodeType_FAILED; // [V2G2-535]'],
          message: 'EvseV2G: requirement reference',
        },
      ],
    }),
    fn({
      name: 'handle_iso_cable_check',
      file: 'iso_server.cpp',
      signature: 'static enum v2g_event handle_iso_cable_check(struct v2g_connection* conn) {',
      line: 1188,
      tags: ['cable_check'],
      body: [
        '    res->EVSEProcessing = conn->ctx->evse_v2g_data.evse_processing[PHASE_ISOLATION];',
        '    if (conn->ctx->evse_v2g_data.cable_check_done) {',
        '        res->DC_EVSEStatus.EVSEIsolationStatus = conn->ctx->evse_v2g_data.isolation_status;',
        '    }',
      ],
      regressions: [],
      benign: [],
    }),
    fn({
      name: 'v2g_handle_connection',
      file: 'v2g_server.cpp',
      signature: 'int v2g_handle_connection(struct v2g_connection* conn) {',
      line: 610,
      tags: ['link'],
      body: [
        '    rv = connection_read(conn, conn->buffer, V2GTP_HEADER_LENGTH);',
        '    if (rv != V2GTP_HEADER_LENGTH) {',
        '        dlog(DLOG_LEVEL_ERROR, "connection_read(header) too short: %d", rv);',
        '        goto error_out;',
        '    }',
      ],
      regressions: [],
      benign: [],
    }),
  ],
};

const ocpp16: ModuleSpec = {
  type: 'OCPP',
  role: 'ocpp',
  dir: 'EVSE/OCPP',
  extraFiles: ['manifest.yaml', 'conversions.cpp'],
  functions: [
    fn({
      name: 'WebsocketLibwebsockets::reconnect',
      file: '@libocpp/lib/ocpp/common/websocket/websocket_libwebsockets.cpp',
      signature: 'void WebsocketLibwebsockets::reconnect(long delay) {',
      line: 1540,
      tags: ['reconnect', 'websocket'],
      body: [
        '    if (this->shutting_down) {',
        '        return;',
        '    }',
        '    if (this->reconnect_timer_id) {',
        '        return; // a reconnect is already scheduled',
        '    }',
        '    this->reconnect_timer_id = this->evse_timer.timeout([this]() { this->connect(); }, delay);',
      ],
      regressions: [
        {
          line: 3,
          to: ['    if (this->reconnect_timer_id or this->m_is_connected) {'],
          message: 'libocpp: do not schedule a reconnect while the connection still looks up',
        },
        {
          line: 6,
          to: ['    this->reconnect_timer_id = this->evse_timer.timeout([this]() { this->connect(); }, 0);'],
          message: 'libocpp: reconnect immediately after a pong timeout',
        },
      ],
      benign: [
        {
          line: 4,
          to: ['        return; // already scheduled (see #1105)'],
          message: 'libocpp: reference issue',
        },
      ],
    }),
    fn({
      name: 'ChargePointImpl::on_transaction_stopped',
      file: '@libocpp/lib/ocpp/v16/charge_point_impl.cpp',
      signature:
        'void ChargePointImpl::on_transaction_stopped(const int32_t connector, const std::string& session_id, const Reason& reason,',
      line: 3890,
      tags: ['stop_transaction', 'offline'],
      body: [
        '    auto transaction = this->transaction_handler->get_transaction(connector);',
        '    const auto transaction_id = transaction->get_transaction_id();',
        '    if (!transaction_id.has_value()) {',
        '        transaction->set_finished();',
        '        return; // StopTransaction is sent once StartTransaction.conf arrives',
        '    }',
      ],
      regressions: [
        {
          line: 2,
          to: ['    if (false) { // always send StopTransaction immediately'],
          message: 'libocpp: send StopTransaction right away for offline-started transactions',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'ChargePointImpl::connected_callback',
      file: '@libocpp/lib/ocpp/v16/charge_point_impl.cpp',
      signature: 'void ChargePointImpl::connected_callback() {',
      line: 520,
      tags: ['websocket', 'boot'],
      body: [
        '    this->switch_security_profile_callback = nullptr;',
        '    switch (this->connection_state) {',
        '    case ChargePointConnectionState::Disconnected:',
        '        this->connection_state = ChargePointConnectionState::Connected;',
        '        this->boot_notification();',
      ],
      regressions: [],
      benign: [
        {
          line: 4,
          to: ['        this->boot_notification(); // BootNotification before anything else (OCPP 1.6 4.2)'],
          message: 'libocpp: spec reference',
        },
      ],
    }),
    fn({
      name: 'OCPP::process_session_event',
      file: 'OCPP.cpp',
      signature:
        'void OCPP::process_session_event(int32_t evse_id, const types::evse_manager::SessionEvent& session_event) {',
      line: 702,
      tags: ['session_event'],
      body: [
        '    auto everest_connector_id = session_event.connector_id.value_or(1);',
        '    auto ocpp_connector_id = this->evse_connector_map[evse_id][everest_connector_id];',
        '    if (session_event.event == types::evse_manager::SessionEventEnum::Enabled) {',
        '        this->charge_point->on_enabled(evse_id);',
      ],
      regressions: [],
      benign: [],
    }),
  ],
};

const csms: ModuleSpec = {
  type: 'CSMS',
  role: 'csms',
  dir: '',
  external: {
    repoChoices: ['fleet/csms', 'voltra-energy/csms-core', 'chargecloud/backend'],
    root: 'src/',
    mapFiles: ['src/ocpp16/'],
  },
  extraFiles: ['README.md'],
  functions: [
    fn({
      name: 'handleStopTransaction',
      file: 'ocpp16/stop-transaction.ts',
      signature:
        'export async function handleStopTransaction(ctx: CallContext, req: StopTransactionRequest) {',
      line: 41,
      tags: ['stop_transaction'],
      body: [
        '  const tx = await ctx.transactions.byId(req.transactionId);',
        "  if (!tx) throw new CallError('PropertyConstraintViolation', 'unknown transactionId ' + req.transactionId);",
        '  await ctx.transactions.finish(tx, req.meterStop, req.timestamp, req.reason);',
      ],
      regressions: [
        {
          line: 0,
          to: [
            '  const tx = await ctx.transactions.byId(req.transactionId, { stationId: ctx.stationId, openOnly: true });',
          ],
          message: 'csms: only finish open transactions of the calling station',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'handleStartTransaction',
      file: 'ocpp16/start-transaction.ts',
      signature:
        'export async function handleStartTransaction(ctx: CallContext, req: StartTransactionRequest) {',
      line: 28,
      tags: ['start_transaction'],
      body: [
        '  const id = await ctx.transactions.nextId();',
        '  await ctx.transactions.open({ id, stationId: ctx.stationId, connectorId: req.connectorId });',
        '  return { transactionId: id, idTagInfo: { status: "Accepted" } };',
      ],
      regressions: [
        {
          line: 0,
          to: ['  const id = await ctx.transactions.nextIdForStation(ctx.stationId);'],
          message: 'csms: per-station transaction id sequence',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'handleHeartbeat',
      file: 'ocpp16/heartbeat.ts',
      signature: 'export async function handleHeartbeat(ctx: CallContext) {',
      line: 9,
      tags: ['websocket'],
      body: [
        '  await ctx.stations.touch(ctx.stationId);',
        '  return { currentTime: new Date().toISOString() };',
      ],
      regressions: [],
      benign: [
        {
          line: 0,
          to: ['  await ctx.stations.touch(ctx.stationId); // last seen'],
          message: 'csms: comment',
        },
      ],
    }),
  ],
};

const setupModem: ModuleSpec = {
  type: 'Setup',
  role: 'network',
  dir: 'Misc/Setup',
  extraFiles: ['manifest.yaml'],
  functions: [
    fn({
      name: 'Setup::check_online_status',
      file: 'main/setupImpl.cpp',
      signature: 'void Setup::check_online_status() {',
      line: 412,
      tags: ['link'],
      body: [
        '    bool online = this->ping(config.online_check_host);',
        '    if (online != this->last_online) {',
        '        publish_online(online);',
        '    }',
      ],
      regressions: [
        {
          line: 0,
          to: ['    bool online = this->ping(config.online_check_host, 200ms);'],
          message: 'Setup: shorter online check',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'Setup::reconnect_modem',
      file: 'main/modem.cpp',
      signature: 'void Setup::reconnect_modem() {',
      line: 88,
      tags: ['modem'],
      body: ['    run_application("mmcli", {"-m", "any", "--simple-connect=apn=" + config.apn});'],
      regressions: [
        {
          line: 0,
          to: ['    run_application("mmcli", {"-m", "0", "--simple-connect=apn=" + config.apn});'],
          message: 'Setup: address the first modem explicitly',
        },
      ],
      benign: [],
    }),
  ],
};

const evseSecurity: ModuleSpec = {
  type: 'EvseSecurity',
  role: 'evse_security',
  dir: 'EVSE/EvseSecurity',
  extraFiles: ['manifest.yaml'],
  functions: [
    fn({
      name: 'handle_verify_certificate',
      file: 'main/evse_securityImpl.cpp',
      signature:
        'types::evse_security::CertificateValidationResult evse_securityImpl::handle_verify_certificate(std::string& certificate_chain,',
      line: 132,
      tags: ['verify_cert'],
      body: [
        '    const auto result = this->evse_security->verify_certificate(certificate_chain, conversions::from_everest(certificate_type));',
        '    return conversions::to_everest(result);',
      ],
      regressions: [
        {
          line: 0,
          to: [
            '    const auto result = this->evse_security->verify_certificate(certificate_chain, {conversions::from_everest(certificate_type)}, /*check_v2g_root=*/true);',
          ],
          message: 'EvseSecurity: also check against the V2G root when verifying',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'handle_get_leaf_expiry_days_count',
      file: 'main/evse_securityImpl.cpp',
      signature:
        'int evse_securityImpl::handle_get_leaf_expiry_days_count(types::evse_security::LeafCertificateType& certificate_type) {',
      line: 170,
      tags: ['expiry'],
      body: [
        '    return this->evse_security->get_leaf_expiry_days_count(conversions::from_everest(certificate_type));',
      ],
      regressions: [],
      benign: [],
    }),
  ],
};

export const commsModules = { slac, evseV2G, ocpp16, csms, setupModem, evseSecurity };
