package demo

import (
	"fmt"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/issuer"
)

// Licence ids the demo status lists speak about.
const (
	idRevoked   = "44030012912025000318"
	idSuspended = "44030012922024008126"
)

// Stop data: one dangerous-goods vehicle, its operator and its driver, so
// the three valid samples form a consistent roadside stop.
const (
	operatorName    = "深圳市鹏程危险品运输有限公司"
	operatorPermit  = "粤交运管许可深字440300100235号"
	dangerousScope  = "道路危险货物运输（2类1项，3类）"
	vehiclePlate    = "粤B5D832"
	driverName      = "张建国"
	shenzhenAuth    = "深圳市交通运输局"
	guangzhouAuth   = "广州市交通运输局"
	foshanAuth      = "佛山市交通运输局"
	chengduAuth     = "成都市交通运输局"
	dangerousDriver = "道路危险货物运输驾驶员"
)

func date(t time.Time) credential.Date { return credential.DateOf(t) }

func (b *builder) samples(sz, gd, sc, old, rev, stray *issuer.Signer) []Sample {
	at := b.w.At
	var out []Sample
	add := func(s *issuer.Signer, name, desc, verdict string, reasons []string, c *credential.Claims) string {
		if b.err != nil {
			return ""
		}
		if c.HasExpiry && c.CTI == nil {
			// Dynamic codes carry a unique cti; printed codes save the bytes.
			cti := make([]byte, 32)
			b.rand("cti/" + name).Read(cti)
			c.CTI = cti[:16]
		}
		text, err := s.SignCredential(b.rand("code/"+name), c)
		if err != nil {
			b.err = fmt.Errorf("sample %s: %w", name, err)
			return ""
		}
		out = append(out, Sample{Name: name, Description: desc, Text: text, Verdict: verdict, Reasons: reasons, Kind: c.Credential.Kind})
		return text
	}
	static := func(cr credential.Credential, iat time.Time) *credential.Claims {
		return &credential.Claims{IssuedAt: iat.Unix(), Credential: cr}
	}

	// --- Valid: one roadside stop (vehicle, operator, driver), all Shenzhen.
	vehicle := b.vehicle("44030012922025004417", vehiclePlate, operatorName, operatorPermit, shenzhenAuth, "440300",
		day(at, -300), day(at, 1100), day(at, 220))
	add(sz, "valid-vehicle", "有效的道路运输证（危险货物运输车辆，深圳）", "VALID", nil, static(vehicle, day(at, -300)))
	permit := b.permit("44030012912023001150", operatorName, "91440300MA5D8K2P0", shenzhenAuth, "440300",
		dangerousScope, day(at, -700), day(at, 760))
	add(sz, "valid-permit", "有效的经营许可证（道路危险货物运输，深圳）", "VALID", nil, static(permit, day(at, -700)))
	driver := b.practitioner("44030012902021015523", driverName, "44030419820315123", shenzhenAuth, "440300",
		[]string{dangerousDriver, "道路货物运输驾驶员"}, "男", "1982-03-15", "A2", day(at, -1500), day(at, 300))
	add(sz, "valid-practitioner", "有效的从业资格证（危险货物运输驾驶员，深圳）", "VALID", nil, static(driver, day(at, -1500)))

	// A dynamic code shown on a phone: expires minutes after it was signed.
	dyn := static(driver, at.Add(-time.Minute))
	dyn.HasExpiry, dyn.Expires = true, at.Add(4*time.Minute).Unix()
	add(sz, "valid-dynamic", "有效的动态二维码（手机出示，5分钟内有效）", "VALID", nil, dyn)

	// A passenger bus from Guangzhou, signed by the provincial signer.
	bus := b.vehicle("44010012922024030077", "粤A0K127", "广州市穗安客运有限公司", "粤交运管许可穗字440100200318号", guangzhouAuth, "440100",
		day(at, -500), day(at, 900), day(at, 160))
	bus.Title = "道路运输证"
	bus.Vehicle.VehicleType, bus.Vehicle.Capacity, bus.Vehicle.Scope = "大型普通客车", "45座", "省际班车客运"
	bus.Vehicle.PlateColour = "黄"
	add(gd, "valid-bus-guangzhou", "有效的道路运输证（省际班车客运，广州）", "VALID", nil, static(bus, day(at, -500)))

	// --- LIMITED.
	fs := b.permit("44060012912022000460", "佛山市顺达物流有限公司", "91440604MA4W3L7Q8", foshanAuth, "440600",
		"道路普通货物运输，货物专用运输（集装箱）", day(at, -800), day(at, 600))
	add(gd, "limited-status-unknown", "佛山市的经营许可证：终端没有佛山市的状态清单", "LIMITED", []string{"STATUS_UNKNOWN"}, static(fs, day(at, -800)))
	cd := b.practitioner("51010012902020007781", "李秀英", "51010619900721432", chengduAuth, "510100",
		[]string{"道路旅客运输驾驶员"}, "女", "1990-07-21", "A1", day(at, -2000), day(at, 400))
	add(sc, "limited-trust-stale", "成都市的从业资格证：成都市状态清单已过期未更新", "LIMITED", []string{"TRUST_STALE"}, static(cd, day(at, -2000)))
	overdue := b.vehicle("44030012922022011902", "粤B7H305", "深圳市安达货运有限公司", "粤交运管许可深字440300100871号", shenzhenAuth, "440300",
		day(at, -900), day(at, 500), day(at, -20))
	add(sz, "limited-review-overdue", "道路运输证：车辆年度审验已逾期", "LIMITED", []string{"REVIEW_OVERDUE"}, static(overdue, day(at, -900)))

	// --- INVALID, one per reason.
	good := b.w.At // shorthand for iat of the invalid samples that need a normal one
	valid := add(sz, "invalid-malformed-source", "", "VALID", nil, static(vehicle, day(good, -300)))
	out = out[:len(out)-1] // only the text is needed
	if len(valid) > 40 {
		out = append(out, Sample{Name: "invalid-malformed", Description: "二维码被截断（只扫到一部分）", Text: valid[:len(valid)-40],
			Verdict: "INVALID", Reasons: []string{"MALFORMED"}, Kind: credential.KindVehicle})
		out = append(out, Sample{Name: "invalid-unsupported-version", Description: "未来版本的二维码（RTC2）", Text: "RTC2:" + valid[len(credential.Prefix):],
			Verdict: "INVALID", Reasons: []string{"UNSUPPORTED_VERSION"}, Kind: credential.KindVehicle})
	}
	b.unsupportedAlg(sz, vehicle, &out)
	add(stray, "invalid-unknown-signer", "由未登记机构签发的证照", "INVALID", []string{"UNKNOWN_SIGNER"},
		static(b.vehicle("44030012922025009001", "粤B9Z001", "某某运输公司", "粤交运管许可深字440300999999号", shenzhenAuth, "440300", day(at, -30), day(at, 700), day(at, 300)), day(at, -30)))
	add(old, "invalid-chain-invalid", "签名证书已过期后签发的证照", "INVALID", []string{"CHAIN_INVALID"}, static(fs, day(at, -10)))
	add(rev, "invalid-signer-revoked", "签名证书已被吊销", "INVALID", []string{"SIGNER_REVOKED"}, static(fs, day(at, -10)))
	b.badSignature(sz, driver, &out)
	add(sc, "invalid-issuer-mismatch", "四川的签名证书签发了深圳的证照（越权）", "INVALID", []string{"ISSUER_MISMATCH"}, static(vehicle, day(at, -300)))
	add(sz, "invalid-code-not-yet-valid", "二维码签发时间在未来（时间异常）", "INVALID", []string{"CODE_NOT_YET_VALID"}, static(driver, at.Add(2*time.Hour)))
	exp := static(driver, at.Add(-30*time.Minute))
	exp.HasExpiry, exp.Expires = true, at.Add(-25*time.Minute).Unix()
	add(sz, "invalid-code-expired", "动态二维码已过期（截图）", "INVALID", []string{"CODE_EXPIRED"}, exp)
	notYet := b.permit("44030012912026002210", "深圳市新启航运输有限公司", "91440300MA5H2R6T1", shenzhenAuth, "440300",
		"道路普通货物运输", day(at, 30), day(at, 30+1825))
	add(sz, "invalid-licence-not-yet-valid", "经营许可证尚未生效", "INVALID", []string{"LICENCE_NOT_YET_VALID"}, static(notYet, day(at, -2)))
	expired := b.practitioner("44030012902019004410", "王志强", "44030719750908201", shenzhenAuth, "440300",
		[]string{"道路货物运输驾驶员"}, "男", "1975-09-08", "B2", day(at, -2200), day(at, -10))
	add(sz, "invalid-licence-expired", "从业资格证已过有效期", "INVALID", []string{"LICENCE_EXPIRED"}, static(expired, day(at, -400)))
	revoked := b.permit(idRevoked, "深圳市宏远货运有限公司", "91440300MA5C1N4X2", shenzhenAuth, "440300",
		"道路普通货物运输", day(at, -600), day(at, 1200))
	add(sz, "invalid-licence-revoked", "经营许可证已被吊销（状态清单）", "INVALID", []string{"LICENCE_REVOKED"}, static(revoked, day(at, -600)))
	susp := b.vehicle(idSuspended, "粤B2M610", "深圳市宏远货运有限公司", "粤交运管许可深字440300100412号", shenzhenAuth, "440300",
		day(at, -700), day(at, 400), day(at, 100))
	add(sz, "invalid-licence-suspended", "道路运输证已被暂扣（状态清单增量更新）", "INVALID", []string{"LICENCE_SUSPENDED"}, static(susp, day(at, -700)))
	return out
}

func (b *builder) vehicle(id, plate, operator, permitNo, auth, code string, from, until, review time.Time) credential.Credential {
	return credential.Credential{
		Version: 1, Kind: credential.KindVehicle, Title: "道路运输证",
		Number: fmt.Sprintf("粤交运管%s字%s号", shortCity(code), id[8:]), ID: id,
		Holder: operator, HolderIDType: credential.HolderIDCreditCode, HolderID: creditCode("91" + code + "MA5" + id[len(id)-6:]),
		Authority: auth, AuthorityCode: code, Issued: date(from.AddDate(0, 0, -2)), ValidFrom: date(from), ValidUntil: date(until),
		Vehicle: &credential.Vehicle{
			Plate: plate, PlateColour: "黄", Operator: operator, OperatorLicence: permitNo,
			VehicleType: "重型罐式货车", Capacity: "18吨", Dimensions: "9980×2500×3650", Scope: dangerousScope,
			ReviewUntil: date(review),
		},
	}
}

func (b *builder) permit(id, holder, credit17, auth, code, scope string, from, until time.Time) credential.Credential {
	return credential.Credential{
		Version: 1, Kind: credential.KindPermit, Title: "道路运输经营许可证",
		Number: operatorPermitNumber(holder, code, id), ID: id,
		Holder: holder, HolderIDType: credential.HolderIDCreditCode, HolderID: creditCode(credit17),
		Authority: auth, AuthorityCode: code, Issued: date(from.AddDate(0, 0, -5)), ValidFrom: date(from), ValidUntil: date(until),
		Permit: &credential.Permit{Scope: scope, Address: cityName(code) + "某区示例路88号", EconomicType: "有限责任公司"},
	}
}

func operatorPermitNumber(holder, code, id string) string {
	if holder == operatorName {
		return operatorPermit
	}
	return fmt.Sprintf("粤交运管许可%s字%s%s号", shortCity(code), code, id[len(id)-6:])
}

func (b *builder) practitioner(id, name, body17, auth, code string, cats []string, sex, birth, class string, from, until time.Time) credential.Credential {
	bd, _ := credential.ParseDate(birth)
	return credential.Credential{
		Version: 1, Kind: credential.KindPractitioner, Title: "道路运输从业人员从业资格证",
		Number: residentID(body17), ID: id,
		Holder: name, HolderIDType: credential.HolderIDResident, HolderID: residentID(body17),
		Authority: auth, AuthorityCode: code, Issued: date(from), ValidFrom: date(from), ValidUntil: date(until),
		Practitioner: &credential.Practitioner{Categories: cats, Sex: sex, BirthDate: bd, VehicleClass: class,
			IntegrityGrade: "AAA", IntegrityDate: date(from.AddDate(1, 0, 0))},
	}
}

func shortCity(code string) string {
	switch code[:4] {
	case "4403":
		return "深"
	case "4401":
		return "穗"
	case "4406":
		return "佛"
	case "5101":
		return "蓉"
	}
	return "粤"
}

func cityName(code string) string {
	switch code[:4] {
	case "4403":
		return "深圳市"
	case "4401":
		return "广州市"
	case "4406":
		return "佛山市"
	case "5101":
		return "成都市"
	}
	return ""
}

// unsupportedAlg adds a code whose protected header names ES256 (-7).
func (b *builder) unsupportedAlg(s *issuer.Signer, cr credential.Credential, out *[]Sample) {
	if b.err != nil {
		return
	}
	c := &credential.Claims{IssuedAt: b.w.At.AddDate(0, 0, -300).Unix(), Credential: cr}
	payload, err := c.EncodePayload()
	if err != nil {
		b.err = err
		return
	}
	r := b.rand("code/invalid-unsupported-alg")
	cose, err := credential.EncodeSign1Alg(int64(-7), s.KID[:], payload, func(m []byte) ([]byte, error) { return s.Key.Sign(r, m) })
	if err != nil {
		b.err = err
		return
	}
	*out = append(*out, Sample{Name: "invalid-unsupported-alg", Description: "使用非国密算法（ES256）签名的二维码", Text: credential.EncodeText(cose),
		Verdict: "INVALID", Reasons: []string{"UNSUPPORTED_ALG"}, Kind: cr.Kind})
}

// badSignature adds a code whose payload was altered after signing (the
// holder's name changed), so the signature no longer matches.
func (b *builder) badSignature(s *issuer.Signer, cr credential.Credential, out *[]Sample) {
	if b.err != nil {
		return
	}
	c := &credential.Claims{IssuedAt: b.w.At.AddDate(0, 0, -100).Unix(), Credential: cr}
	payload, err := c.EncodePayload()
	if err != nil {
		b.err = err
		return
	}
	forged := cr
	forged.Holder = "张建华"
	fc := &credential.Claims{IssuedAt: c.IssuedAt, Credential: forged}
	forgedPayload, err := fc.EncodePayload()
	if err != nil {
		b.err = err
		return
	}
	r := b.rand("code/invalid-bad-signature")
	var sig []byte
	if _, err := credential.EncodeSign1(s.KID[:], payload, func(m []byte) ([]byte, error) {
		sig, err = s.Key.Sign(r, m)
		return sig, err
	}); err != nil {
		b.err = err
		return
	}
	cose, err := credential.EncodeSign1(s.KID[:], forgedPayload, func([]byte) ([]byte, error) { return sig, nil })
	if err != nil {
		b.err = err
		return
	}
	*out = append(*out, Sample{Name: "invalid-bad-signature", Description: "证照内容被篡改（持证人姓名被改）", Text: credential.EncodeText(cose),
		Verdict: "INVALID", Reasons: []string{"BAD_SIGNATURE"}, Kind: cr.Kind})
}
