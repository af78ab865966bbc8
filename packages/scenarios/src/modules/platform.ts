/** Platform: auth and RFID, energy management, storage, system, HMI/API, framework and broker. */
import { fn, type ModuleSpec } from './spec.ts';

const authModule: ModuleSpec = {
  type: 'Auth',
  role: 'auth',
  dir: 'EVSE/Auth',
  extraFiles: ['manifest.yaml', 'lib/Connector.cpp'],
  functions: [
    fn({
      name: 'AuthHandler::on_token',
      file: 'lib/AuthHandler.cpp',
      signature: 'TokenHandlingResult AuthHandler::on_token(const ProvidedIdToken& provided_token) {',
      line: 118,
      tags: ['token'],
      body: [
        '    std::unique_lock<std::mutex> lk(this->event_mutex);',
        '    if (this->is_token_already_in_process(provided_token.id_token.value, referenced_evses)) {',
        '        return TokenHandlingResult::ALREADY_IN_PROCESS;',
        '    }',
        '    this->tokens_in_process.insert(provided_token.id_token.value);',
      ],
      regressions: [
        {
          line: 1,
          to: ['    if (this->tokens_in_process.count(provided_token.id_token.value) > 0) {'],
          message: 'Auth: simplify the in-process token check',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'AuthHandler::set_connection_timeout',
      file: 'lib/AuthHandler.cpp',
      signature: 'void AuthHandler::set_connection_timeout(const int connection_timeout) {',
      line: 702,
      tags: ['connection_timeout'],
      body: ['    this->connection_timeout = connection_timeout;'],
      regressions: [
        {
          line: 0,
          to: ['    this->connection_timeout = std::min(connection_timeout, 30);'],
          message: 'Auth: cap plug-in timeout at 30 s',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'AuthHandler::handle_session_event',
      file: 'lib/AuthHandler.cpp',
      signature: 'void AuthHandler::handle_session_event(const int evse_id, const SessionEvent& event) {',
      line: 560,
      tags: ['session_event'],
      body: [
        '    std::lock_guard<std::mutex> lk(this->timer_mutex);',
        '    switch (event.event) {',
        '    case SessionEventEnum::SessionStarted:',
        '        this->evses.at(evse_id)->plugged_in = true;',
      ],
      regressions: [],
      benign: [
        {
          line: 3,
          to: ['        this->evses.at(evse_id)->plugged_in = true; // starts the plug-in timer'],
          message: 'Auth: comment',
        },
      ],
    }),
  ],
};

const pn532: ModuleSpec = {
  type: 'PN532TokenProvider',
  role: 'rfid',
  dir: 'HardwareDrivers/NfcReaders/PN532TokenProvider',
  extraFiles: ['manifest.yaml'],
  functions: [
    fn({
      name: 'PN532Serial::configureSAM',
      file: 'pn532_serial/PN532Serial.cpp',
      signature: 'std::future<bool> PN532Serial::configureSAM() {',
      line: 240,
      tags: ['wake'],
      body: [
        '    wakeUp();',
        '    std::vector<uint8_t> data = {0x14, 0x01, 0x14, 0x01};',
        '    return sendCommand(data).then([](auto r) { return r.valid; });',
      ],
      regressions: [
        {
          line: 0,
          to: ['    // the reader is woken by getFirmwareVersion()'],
          message: 'PN532TokenProvider: avoid double wake-up',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'PN532Serial::getFirmwareVersion',
      file: 'pn532_serial/PN532Serial.cpp',
      signature: 'std::future<FirmwareVersion> PN532Serial::getFirmwareVersion() {',
      line: 210,
      tags: ['wake'],
      body: ['    std::vector<uint8_t> data = {0x02};', '    return sendCommand(data);'],
      regressions: [],
      benign: [],
    }),
    fn({
      name: 'PN532Serial::inListPassiveTarget',
      file: 'pn532_serial/PN532Serial.cpp',
      signature: 'std::future<InListPassiveTargetResponse> PN532Serial::inListPassiveTarget() {',
      line: 270,
      tags: ['read'],
      body: ['    std::vector<uint8_t> data = {0x4a, 0x02, 0x00};', '    return sendCommand(data);'],
      regressions: [
        {
          line: 0,
          to: ['    std::vector<uint8_t> data = {0x4a, 0x01, 0x00};'],
          message: 'PN532TokenProvider: poll one target at a time',
        },
      ],
      benign: [],
    }),
  ],
};

const energyManager: ModuleSpec = {
  type: 'EnergyManager',
  role: 'energy_manager',
  dir: 'EnergyManagement/EnergyManager',
  extraFiles: ['manifest.yaml', 'BrokerFastCharging.cpp'],
  functions: [
    fn({
      name: 'EnergyManagerImpl::run_optimizer',
      file: 'EnergyManagerImpl.cpp',
      signature:
        'std::vector<types::energy::EnforcedLimits> EnergyManagerImpl::run_optimizer(types::energy::EnergyFlowRequest request) {',
      line: 98,
      tags: ['optimizer', 'power_budget'],
      body: [
        '    const auto timepoint = globals.start_time;',
        '    auto evse_context = EnergyManagerImpl::get_context(request, timepoint);',
        '    Market market(request, config.nominal_ac_voltage);',
        '    for (auto& evse : evse_context) {',
        '        evse->trade(market);',
        '    }',
        '    return get_enforced_limits(evse_context, std::chrono::seconds(config.schedule_interval_duration));',
      ],
      regressions: [
        {
          line: 6,
          to: [
            '    return get_enforced_limits(evse_context, std::chrono::milliseconds(config.schedule_interval_duration));',
          ],
          message: 'EnergyManager: limits valid for one update interval',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'Broker::trade',
      file: 'Broker.cpp',
      signature: 'bool Broker::trade(Offer& offer, ScheduleReq& request) {',
      line: 44,
      tags: ['optimizer'],
      body: [
        '    if (offer.import_max_current < request.min_current) {',
        '        return false;',
        '    }',
        '    accept(offer, request);',
        '    return true;',
      ],
      regressions: [
        {
          line: 0,
          to: ['    if (offer.import_max_current <= request.min_current) {'],
          message: 'EnergyManager: reject offers at exactly the minimum current',
        },
      ],
      benign: [],
    }),
  ],
};

const energyNode: ModuleSpec = {
  type: 'EnergyNode',
  role: 'grid_connection_point',
  dir: 'EnergyManagement/EnergyNode',
  extraFiles: ['manifest.yaml'],
  functions: [
    fn({
      name: 'handle_enforce_limits',
      file: 'energy_grid/energyImpl.cpp',
      signature: 'void energyImpl::handle_enforce_limits(types::energy::EnforcedLimits& value) {',
      line: 121,
      tags: ['limits'],
      body: [
        '    for (auto& child : mod->r_energy_consumer) {',
        '        child->call_enforce_limits(value);',
        '    }',
      ],
      regressions: [],
      benign: [],
    }),
    fn({
      name: 'set_external_limits',
      file: 'energy_grid/energyImpl.cpp',
      signature: 'void energyImpl::set_external_limits(types::energy::ExternalLimits& l) {',
      line: 80,
      tags: ['limits'],
      body: [
        '    std::lock_guard<std::mutex> lock(energy_mutex);',
        '    energy_flow_request.schedule_import = l.schedule_import;',
      ],
      regressions: [
        {
          line: 1,
          to: [
            '    energy_flow_request.schedule_import = l.schedule_import.value_or(std::vector<types::energy::ScheduleReqEntry>{});',
          ],
          message: 'EnergyNode: treat a missing external schedule as empty',
        },
      ],
      benign: [],
    }),
  ],
};

const persistentStore: ModuleSpec = {
  type: 'PersistentStore',
  role: 'persistent_store',
  dir: 'Misc/PersistentStore',
  extraFiles: ['manifest.yaml'],
  functions: [
    fn({
      name: 'handle_store',
      file: 'main/kvsImpl.cpp',
      signature:
        'void kvsImpl::handle_store(std::string& key, std::variant<std::nullptr_t, Array, Object, bool, double, int, std::string>& value) {',
      line: 60,
      tags: ['store'],
      body: [
        '    auto stmt = db->new_statement("INSERT OR REPLACE INTO KVS (KEY, VALUE, TYPE) VALUES (@key, @value, @type)");',
        '    bind_value(*stmt, key, value);',
        '    stmt->step();',
      ],
      regressions: [
        {
          line: 2,
          to: ['    if (stmt->step() != SQLITE_DONE) throw std::runtime_error(db->get_error_message());'],
          message: 'PersistentStore: surface write errors',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'handle_load',
      file: 'main/kvsImpl.cpp',
      signature:
        'std::variant<std::nullptr_t, Array, Object, bool, double, int, std::string> kvsImpl::handle_load(std::string& key) {',
      line: 90,
      tags: ['load'],
      body: [
        '    auto stmt = db->new_statement("SELECT VALUE, TYPE FROM KVS WHERE KEY = @key");',
        '    stmt->bind_text("@key", key);',
      ],
      regressions: [],
      benign: [],
    }),
  ],
};

const systemModule: ModuleSpec = {
  type: 'System',
  role: 'system',
  dir: 'Misc/System',
  extraFiles: ['manifest.yaml'],
  functions: [
    fn({
      name: 'standard_firmware_update',
      file: 'main/systemImpl.cpp',
      signature:
        'void systemImpl::standard_firmware_update(const types::system::FirmwareUpdateRequest& firmware_update_request) {',
      line: 260,
      tags: ['fw_update'],
      body: [
        '    const auto firmware_file_path = this->fw_update_dir / constants::FIRMWARE_FILE_NAME;',
        '    this->update_firmware_thread = std::thread([this, firmware_update_request, firmware_file_path]() {',
        '        this->download_firmware(firmware_update_request, firmware_file_path);',
      ],
      regressions: [
        {
          line: 2,
          to: [
            '        this->download_firmware(firmware_update_request, firmware_file_path, /*retries=*/0);',
          ],
          message: 'System: no retries for firmware download (CSMS retries)',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'handle_set_system_time',
      file: 'main/systemImpl.cpp',
      signature: 'bool systemImpl::handle_set_system_time(std::string& timestamp) {',
      line: 540,
      tags: ['clock'],
      body: [
        '    auto r = run_application("timedatectl", {"set-time", timestamp});',
        '    return r.exit_code == 0;',
      ],
      regressions: [
        {
          line: 0,
          to: ['    auto r = run_application("date", {"-s", timestamp});'],
          message: 'System: set time with date(1) on images without timedated',
        },
      ],
      benign: [],
    }),
    fn({
      name: 'handle_reset',
      file: 'main/systemImpl.cpp',
      signature: 'void systemImpl::handle_reset(types::system::ResetType& type, bool& scheduled) {',
      line: 480,
      tags: ['reset'],
      body: ['    EVLOG_info << "Performing " << type << " reset";', '    kill(getppid(), SIGINT);'],
      regressions: [],
      benign: [],
    }),
  ],
};

const hmi: ModuleSpec = {
  type: 'HMI',
  role: 'display',
  dir: '',
  external: { repoChoices: ['station-oem/hmi', 'voltra-energy/kiosk-ui'], root: 'src/' },
  extraFiles: ['README.md', 'package.json'],
  functions: [
    fn({
      name: 'renderSessionScreen',
      file: 'screens/session.tsx',
      signature: 'export function renderSessionScreen(state: SessionState): Screen {',
      line: 30,
      tags: ['ui'],
      body: ['  if (state.error) return errorScreen(state.error);', '  return chargingScreen(state);'],
      regressions: [],
      benign: [
        {
          line: 1,
          to: ['  return chargingScreen(state, { showCost: true });'],
          message: 'hmi: show running cost on the session screen',
        },
      ],
    }),
    fn({
      name: 'onSessionEvent',
      file: 'mqtt/session-events.ts',
      signature: 'export function onSessionEvent(msg: SessionEventMessage) {',
      line: 12,
      tags: ['ui'],
      body: ['  store.dispatch({ type: msg.event, connector: msg.connector_id });'],
      regressions: [],
      benign: [
        {
          line: 0,
          to: ['  store.dispatch({ type: msg.event, connector: msg.connector_id ?? 1 });'],
          message: 'hmi: default connector id',
        },
      ],
    }),
  ],
};

const apiModule: ModuleSpec = {
  type: 'API',
  role: 'api',
  dir: 'API/API',
  extraFiles: ['manifest.yaml'],
  functions: [
    fn({
      name: 'SessionInfo::update_state',
      file: 'API.cpp',
      signature: 'void SessionInfo::update_state(const types::evse_manager::SessionEvent event) {',
      line: 70,
      tags: ['ui'],
      body: [
        '    std::lock_guard<std::mutex> lock(this->session_info_mutex);',
        '    this->state = event.event;',
      ],
      regressions: [],
      benign: [
        {
          line: 1,
          to: ['    this->state = event.event; // published on everest_api/evse_manager/var/session_info'],
          message: 'API: comment',
        },
      ],
    }),
  ],
};

const errorHistory: ModuleSpec = {
  type: 'ErrorHistory',
  role: 'error_history',
  dir: 'Misc/ErrorHistory',
  extraFiles: ['manifest.yaml'],
  functions: [
    fn({
      name: 'ErrorDatabaseSqlite::add_error',
      file: 'ErrorDatabaseSqlite.cpp',
      signature: 'void ErrorDatabaseSqlite::add_error(Everest::error::ErrorPtr error) {',
      line: 80,
      tags: ['store'],
      body: [
        '    std::lock_guard<std::mutex> lock(this->db_mutex);',
        '    this->add_error_without_mutex(error);',
      ],
      regressions: [],
      benign: [
        {
          line: 1,
          to: ['    this->add_error_without_mutex(std::move(error));'],
          message: 'ErrorHistory: move the error pointer',
        },
      ],
    }),
  ],
};

const manager: ModuleSpec = {
  type: 'manager',
  role: 'manager',
  dir: '@framework/src',
  extraFiles: [],
  functions: [
    fn({
      name: 'exec_module',
      file: 'manager.cpp',
      signature:
        'static std::map<pid_t, std::string> start_modules(ManagerConfig& config, MQTTAbstraction& mqtt_abstraction,',
      line: 360,
      tags: ['spawn'],
      body: [
        '    const auto pid = spawn_process(module_name, module_type, module_info, config);',
        '    modules_to_spawn.erase(module_name);',
      ],
      regressions: [],
      benign: [
        {
          line: 1,
          to: ['    modules_to_spawn.erase(module_name); // spawned'],
          message: 'framework: comment',
        },
      ],
    }),
  ],
};

const mosquitto: ModuleSpec = {
  type: 'mosquitto',
  role: 'mqtt_broker',
  dir: '@config',
  functions: [],
  extraFiles: ['mosquitto.conf'],
};

/** Module variants per role; a station picks one per role (or per connector). */

export const platformModules = {
  authModule,
  pn532,
  energyManager,
  energyNode,
  persistentStore,
  systemModule,
  hmi,
  apiModule,
  errorHistory,
  manager,
  mosquitto,
};
